import pytest

from tests.api.helpers import URL, add, assert_error


def test_an_entry_can_be_read_by_its_id(client, auth):
    entry = add(client, auth, "+48500000000", expire_at="2030-01-01")

    response = client.get(f"{URL}/{entry['id']}", headers=auth)

    assert response.status_code == 200
    assert response.json() == entry


@pytest.mark.parametrize("entry_id", ["999", "abc", "1.5", "-1", "99999999999999999999999"])
def test_unknown_ids_are_404(client, auth, entry_id):
    add(client, auth, "+48500000000")

    assert_error(client.get(f"{URL}/{entry_id}", headers=auth), 404, "entry_not_found")
    assert_error(client.delete(f"{URL}/{entry_id}", headers=auth), 404, "entry_not_found")


def test_deleting_an_entry_by_id_takes_it_off_the_list(client, auth):
    kept = add(client, auth, "+48500000001")
    gone = add(client, auth, "+48500000002")

    response = client.delete(f"{URL}/{gone['id']}", headers=auth)

    assert response.status_code == 204
    assert response.content == b""
    assert client.get(URL, headers=auth).json()["collection"] == [kept]
    assert_error(client.delete(f"{URL}/{gone['id']}", headers=auth), 404, "entry_not_found")


def test_deleting_without_a_number_empties_the_whole_list(client, auth):
    for number in ("+48500000001", "+48500000002", "+48500000003"):
        add(client, auth, number)

    response = client.delete(URL, headers=auth)

    assert response.status_code == 204
    assert client.get(URL, headers=auth).json() == {"size": 0, "collection": []}


def test_deleting_with_a_number_removes_only_that_number_in_any_spelling(client, auth):
    kept = add(client, auth, "+48500000001")
    add(client, auth, "+48500000002")

    response = client.delete(URL, params={"phone_number": "0048 500-000-002"}, headers=auth)

    assert response.status_code == 204
    assert client.get(URL, headers=auth).json()["collection"] == [kept]


def test_deleting_a_number_that_is_not_listed_is_still_204(client, auth):
    kept = add(client, auth, "+48500000001")

    assert client.delete(URL, params={"phone_number": "+48500000009"}, headers=auth).status_code == 204
    assert client.get(URL, headers=auth).json()["collection"] == [kept]


def test_deleting_an_invalid_number_is_a_400_and_deletes_nothing(client, auth):
    add(client, auth, "+48500000001")

    assert_error(client.delete(URL, params={"phone_number": "12"}, headers=auth), 400, "invalid_phone_number")
    assert client.get(URL, headers=auth).json()["size"] == 1


def test_ids_of_deleted_entries_are_never_reused(client, auth):
    first = add(client, auth, "+48500000001")
    client.delete(URL, headers=auth)

    second = add(client, auth, "+48500000002")

    assert int(second["id"]) > int(first["id"])
    assert_error(client.delete(f"{URL}/{first['id']}", headers=auth), 404, "entry_not_found")
    assert client.get(URL, headers=auth).json()["collection"] == [second]
