"""The benchmark's numbers: distinct, valid E.164 mobile numbers from several countries, seeded."""

import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import phonenumbers
from phonenumbers import PhoneNumber, PhoneNumberFormat, PhoneNumberType

# Countries whose mobile ranges the numbers are drawn from, in turn.
REGIONS = ("PL", "GB", "DE", "FR", "IT", "ES", "NL", "CZ", "UA", "US", "BR", "IN")
# Trailing digits drawn at random in each range: 10 million numbers per country, so few repeats.
RANDOM_DIGITS = 7
FAR_EXPIRY = "2099-01-01T00:00:00Z"
HEADER = "phone_number,expire_at"


@dataclass(frozen=True)
class MobileRange:
    """A country's mobile numbers that share the leading digits of phonenumbers' example number."""

    country_code: int
    prefix: str
    random_digits: int

    @classmethod
    def of(cls, region: str) -> "MobileRange":
        """The range around `region`'s example mobile number, keeping all but its last 7 digits."""
        national = str(phonenumbers.example_number_for_type(region, PhoneNumberType.MOBILE).national_number)
        fixed = max(1, len(national) - RANDOM_DIGITS)
        country_code = phonenumbers.country_code_for_region(region)
        return cls(country_code=country_code, prefix=national[:fixed], random_digits=len(national) - fixed)

    def draw(self, rng: random.Random) -> PhoneNumber:
        """A number of this range with random trailing digits (not yet checked valid)."""
        suffix = str(rng.randrange(10**self.random_digits)).zfill(self.random_digits)
        return PhoneNumber(country_code=self.country_code, national_number=int(self.prefix + suffix))


def generate_numbers(count: int, seed: int) -> Iterator[str]:
    """`count` distinct numbers in E.164 (`+48…`), each checked valid by phonenumbers; same seed, same numbers."""
    rng = random.Random(seed)
    ranges = [MobileRange.of(region) for region in REGIONS]
    seen: set[str] = set()
    while len(seen) < count:
        number = ranges[len(seen) % len(ranges)].draw(rng)
        if not phonenumbers.is_valid_number(number):
            continue
        e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
        if e164 in seen:
            continue
        seen.add(e164)
        yield e164


def write_numbers_csv(path: Path, *, count: int, seed: int) -> None:
    """Write the import file: header `phone_number,expire_at`; every even row expires in 2099, odd rows never."""
    with path.open("w", encoding="ascii", newline="") as out:
        out.write(HEADER + "\n")
        for index, e164 in enumerate(generate_numbers(count, seed)):
            out.write(f"{e164},{FAR_EXPIRY if index % 2 == 0 else ''}\n")
