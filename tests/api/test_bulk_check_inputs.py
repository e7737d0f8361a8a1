"""POST /blacklist/check with e-mail addresses of every kind of character, and inputs no address can hold.

On PostgreSQL the addresses travel to the lookup as one JSON text (queries.live_addresses_unnest):
whatever an address holds, it must come back found, and an input that is no address must be answered
`valid: false`, never reach the lookup, never make a 500."""
import json
import random

CHECK = "/blacklist/check"
ENTRIES = "/blacklist/entries"

EMAILS = [
    "o'brien@example.com", "a{b}@example.com", "a/b@example.com", "a|b@example.com", "a%b@example.com",
    "a!#$%&'*+-/=?^_`{|}~@example.com", "ü@例え.jp", "Zażółć.Jaźń@Przykład.PL", "a😀@example.com", "İ@example.com",
    "ß@x.com", "ǅ@x.com", "ﬀ@x.com", "𐐀@x.com", "aͅ@x.com", "Å@x.com", "x" * 64 + "@" + ("d" * 60 + ".") * 3 + "com",
    "日本語@日本語.jp", "user+tag@sub.example.co.uk", "a\u0301@example.com", "δοκιμή@παράδειγμα.δοκιμή",
    "ελ@xn--hxajbheg2az3al.xn--jxalpdlp", "a@xn--80ak6aa92e.com",
]


def put(client, auth, address):
    r = client.post(ENTRIES, json={"address": address, "list": "block"}, headers=auth)
    assert r.status_code in (200, 201), (address, r.text)
    return r.json()


def test_listed_addresses_with_any_characters_are_found(client, auth):
    """Quotes, braces, slashes, emoji, IDN domains, case folding and a long address: each found by its own entry."""
    stored = [put(client, auth, a) for a in EMAILS]
    r = client.post(CHECK, json={"addresses": EMAILS + ["not-listed@example.com"]}, headers=auth)
    assert r.status_code == 200, r.text
    res = r.json()["results"]
    assert [x["blacklisted"] for x in res] == [True] * len(EMAILS) + [False], [(x["input"], x["address"]) for x in res if not x["blacklisted"]]
    for s, x in zip(stored, res):
        assert x["decision"]["entry_id"] == s["id"]


def test_inputs_holding_nul_or_lone_surrogates_are_invalid_not_errors(client, auth):
    """NUL and lone surrogates, which neither JSON text for PostgreSQL nor its text type can carry, are refused at the boundary."""
    put(client, auth, "jan@example.com")
    inputs = ["a\x00b@example.com", "\x00", "jan@example.com\x00", "a\udc00@example.com", "\ud800", "+48500000001\x00",
              "\"q\"@example.com", "a\\b@example.com", "a,b@example.com", "jan@example.com", "+48 500 000 001", 48500000001]
    body = json.dumps({"addresses": inputs})  # ensure_ascii: lone surrogates as \\ud800 escapes
    r = client.post(CHECK, content=body, headers={**auth, "Content-Type": "application/json"})
    assert r.status_code == 200, r.text
    res = r.json()["results"]
    assert [x["valid"] for x in res] == [False] * 9 + [True, True, True], res
    assert res[9]["blacklisted"] is True
    body = json.dumps({"phone_numbers": inputs})
    r = client.post(CHECK, content=body, headers={**auth, "Content-Type": "application/json"})
    assert r.status_code == 200, r.text


def test_ten_thousand_mixed_inputs_find_exactly_the_listed_ones(client, auth):
    """The largest body: e-mail addresses, numbers and junk, shuffled; exactly the listed addresses blacklisted."""
    rnd = random.Random(5)
    locals_ = ['x', 'ü', '😀', "o'b", 'ß']
    domains = ['example.com', '例え.jp', 'Przykład.pl']
    emails = ["u%d.%s@%s" % (i, rnd.choice(locals_), rnd.choice(domains)) for i in range(5000)]
    phones = [f"+48500{i:06d}" for i in range(4990)] + ["+999123", "x", None, 1.5, "a\x00@b.com", "", " ", "+48 500", [], {}]
    listed = set(rnd.sample(range(5000), 15))
    for i in listed:
        put(client, auth, emails[i])
    inputs = emails + phones
    rnd.shuffle(inputs)
    r = client.post(CHECK, json={"addresses": inputs}, headers=auth)
    assert r.status_code == 200, r.text
    res = r.json()["results"]
    assert len(res) == 10_000
    got = {x["input"] for x in res if x["blacklisted"]}
    assert got == {emails[i] for i in listed}
    r = client.post(CHECK, json={"phone_numbers": inputs}, headers=auth)
    assert r.status_code == 200, r.text
    assert not any(x["blacklisted"] for x in r.json()["results"])


def test_ten_thousand_numbers_find_exactly_the_listed_ones(client, auth):
    """10,000 numbers of one country code with several regions (+1): exactly the three listed ones blacklisted."""
    nums = [f"+1650253{i:04d}" for i in range(10_000)]
    for i in (0, 9999, 4242):
        assert client.post("/blacklist/phone_numbers", json={"phone_number": nums[i]}, headers=auth).status_code == 201
    r = client.post(CHECK, json={"phone_numbers": nums}, headers=auth)
    assert r.status_code == 200, r.text
    assert {i for i, x in enumerate(r.json()["results"]) if x["blacklisted"]} == {0, 9999, 4242}
