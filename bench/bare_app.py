"""The check benchmark's baseline server: bare FastAPI, one `async def` endpoint with a constant answer.

Run: python bench/bare_app.py --port PORT. It is started like `stoplist serve`: uvicorn.run in
this same interpreter (same uvicorn; loop and http "auto", so uvloop and httptools where
installed), one worker, proxy headers on, access log off. The route is Stoplist's path, so the
same wrk script drives both servers; it never reads the query string nor the Authorization header.
"""

import argparse

import uvicorn
from fastapi import FastAPI

ANSWER = {"phone_number": "48500000000", "blacklisted": False, "entry": None}

app = FastAPI()


@app.get("/blacklist/check")
async def check():
    return ANSWER


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(app, host=args.host, port=args.port, proxy_headers=True, access_log=False)


if __name__ == "__main__":
    main()
