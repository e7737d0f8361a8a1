from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.e2e.conftest import LiveServer


def test_concurrent_adds_of_one_number_make_one_entry_and_no_errors(live_server: LiveServer):
    headers = {"Authorization": f"Bearer {live_server.create_token()}"}
    spellings = ["+48 500 000 000", "0048500000000", "48500000000", "+48-500-000-000"] * 10

    def add(spelling: str) -> httpx.Response:
        return httpx.post(f"{live_server.base_url}/blacklist/phone_numbers", json={"phone_number": spelling}, headers=headers, timeout=30)

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(add, spellings))

    assert sorted({response.status_code for response in responses}) in ([200, 201], [201])
    assert sum(response.status_code == 201 for response in responses) == 1
    assert len({response.json()["id"] for response in responses}) == 1
    listing = httpx.get(f"{live_server.base_url}/blacklist/phone_numbers", headers=headers).json()
    assert listing["size"] == 1


def test_two_instances_on_one_database_never_duplicate_a_number_nor_fail(tmp_path, database_url: str):
    from tests.e2e.conftest import running_server

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with running_server(tmp_path / "a", database_url=database_url) as first, running_server(tmp_path / "b", database_url=database_url) as second:
        headers = {"Authorization": f"Bearer {first.create_token()}"}
        targets = [(server.base_url, spelling) for server in (first, second) for spelling in ("+48 500 000 000", "0048500000000", "48500000000")] * 6

        def add(target: tuple[str, str]) -> httpx.Response:
            base_url, spelling = target
            return httpx.post(f"{base_url}/blacklist/phone_numbers", json={"phone_number": spelling}, headers=headers, timeout=30)

        with ThreadPoolExecutor(max_workers=8) as pool:
            responses = list(pool.map(add, targets))

        assert all(response.status_code in (200, 201) for response in responses), [r.text for r in responses if r.status_code >= 300]
        assert sum(response.status_code == 201 for response in responses) == 1
        assert len({response.json()["id"] for response in responses}) == 1
        for server in (first, second):
            assert httpx.get(f"{server.base_url}/blacklist/phone_numbers", headers=headers).json()["size"] == 1
