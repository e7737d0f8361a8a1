"""Write the app's OpenAPI schema: `python -m stoplist.openapi openapi/openapi.json`."""

import json
import sys
from pathlib import Path

from stoplist.app import create_app
from stoplist.config import Settings


def render() -> str:
    """The schema as committed: sorted keys, two-space indent, final newline."""
    app = create_app(Settings(database_url="sqlite://"))
    return json.dumps(app.openapi(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else None
    text = render()
    if target is None:
        sys.stdout.write(text)
    else:
        target.write_text(text)
