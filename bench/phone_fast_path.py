"""Numbers per second: bare phonenumbers.parse, parse+validate+format, and normalize_phone_number.

Run: .venv/bin/python bench/phone_fast_path.py [count]   (default 200000)
Inputs: valid E.164 numbers from every region and number type (each example number of
phonenumbers with 2-5 random trailing digits, kept if valid), seeded, shuffled so regions mix as
in a real import; then the same for Polish numbers only.
"""

import random
import re
import sys
import time
from collections.abc import Callable

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from stoplist.lists.phone import _normalize_slow, normalize_phone_number
from stoplist.lists.plans import fast_e164 as _fast_e164


def examples(regions: list[str], non_geo: bool) -> list[str]:
    """Every example number phonenumbers has for `regions` (and the non-geographic codes), in E.164."""
    numbers = [phonenumbers.example_number_for_type(r, kind) for r in regions for kind in PhoneNumberType.values()]
    if non_geo:
        numbers += [phonenumbers.example_number_for_non_geo_entity(c) for c in phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS]
    return sorted({phonenumbers.format_number(n, PhoneNumberFormat.E164) for n in numbers if n is not None})


def valid_numbers(count: int, examples: list[str], seed: int = 1) -> list[str]:
    """`count` distinct valid '+…' numbers: `examples` with random trailing digits, shuffled."""
    rnd = random.Random(seed)
    per_example = -(-count // len(examples))
    numbers: set[str] = set()
    # One example at a time, so validating does not thrash re's cache (keeps generation quick).
    for example in examples:
        made = set()
        for _ in range(per_example * 20):
            if len(made) == per_example:
                break
            k = min(rnd.randint(2, 5), len(example) - 5)  # never into the country code
            candidate = example[:-k] + f"{rnd.randrange(10**k):0{k}d}"
            if phonenumbers.is_valid_number(phonenumbers.parse(candidate)):
                made.add(candidate)
        numbers |= made
    result = sorted(numbers)
    rnd.shuffle(result)
    re.purge()  # measure from a cold re cache, as a fresh worker would
    return result[:count]


def parse_validate_format(text: str) -> str:
    number = phonenumbers.parse(text)
    phonenumbers.is_valid_number(number)
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def rate(function: Callable[[str], object], inputs: list[str]) -> float:
    start = time.perf_counter()
    for text in inputs:
        function(text)
    return len(inputs) / (time.perf_counter() - start)


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    for title, sample in (
        ("all regions, mixed", examples(sorted(phonenumbers.SUPPORTED_REGIONS), non_geo=True)),
        ("PL only", examples(["PL"], non_geo=False)),
    ):
        inputs = valid_numbers(count, sample)
        bare = [text[1:] for text in inputs]
        fast = sum(_fast_e164(text, None) is not None for text in inputs)
        print(f"{title}: {len(inputs)} valid E.164 numbers, {fast / len(inputs):.1%} on the fast path")
        for name, function, data in (
            ("phonenumbers.parse", phonenumbers.parse, inputs),
            ("parse + is_valid_number + format E164", parse_validate_format, inputs),
            ("normalize_phone_number('+48…')", normalize_phone_number, inputs),
            ("normalize_phone_number('48…')", normalize_phone_number, bare),
            ("full path only (_normalize_slow '+48…')", _normalize_slow, inputs),
        ):
            print(f"  {name:42} {rate(function, data):>10,.0f} numbers/s")


if __name__ == "__main__":
    main()
