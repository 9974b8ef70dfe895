"""Seed documents for ``POST /_mock/seed`` (and ``--seed FILE``), built from small calls.

The emulator's tests, the contract suite and the benchmarks describe their worlds with
these functions instead of spelling the nested JSON out each time::

    from mockserver.testkit import seeds

    control.seed(
        seeds.world(
            seeds.account(
                "tok-a",
                licenses=[seeds.license("LIC-A", size=50, cameras=[seeds.camera("C1")])],
                parkings=[seeds.parking("lot", cameras=[seeds.parking_camera("101")])],
            )
        )
    )

Each function returns plain dicts in the seed format (README, "Control plane"). A field
left out is left out of the document, so the emulator's own default applies; ``None`` is
sent as ``null``. Two defaults are the builder's own, as a test world usually wants
them: an account has both products and no create-log throttle
(``rate_limit_per_second=None``); pass ``rate_limit_per_second=1`` for the emulator's
default of one upload a second.
"""

from __future__ import annotations

from collections.abc import Iterable

BOTH_PRODUCTS = ("parkpow", "visionalert")
_UNSET: object = object()


def _given(**fields: object) -> dict:
    """The fields that were passed (``_UNSET`` ones dropped)."""
    return {key: value for key, value in fields.items() if value is not _UNSET}


def world(*accounts: dict) -> dict:
    """The seed document: its accounts, in order (the seed's reply lists them so)."""
    return {"accounts": list(accounts)}


def account(
    token: str,
    *,
    products: Iterable[str] = BOTH_PRODUCTS,
    rate_limit_per_second: float | None = None,
    licenses: Iterable[dict] | None = None,
    parkings: Iterable[dict] | None = None,
    vehicles: Iterable[dict] | None = None,
) -> dict:
    """One account: its token, products and throttle; VisionAlert licenses, ParkPow
    parkings and vehicles (a vendor's section appears only when given)."""
    spec = {
        "token": token,
        "products": list(products),
        "rate_limit_per_second": rate_limit_per_second,
    }
    if licenses is not None:
        spec["visionalert"] = {"licenses": list(licenses)}
    parkpow = {}
    if parkings is not None:
        parkpow["parkings"] = list(parkings)
    if vehicles is not None:
        parkpow["vehicles"] = list(vehicles)
    if parkpow:
        spec["parkpow"] = parkpow
    return spec


def license(
    code: str,
    *,
    size: int = _UNSET,
    va_type: str = _UNSET,
    expiration: str = _UNSET,
    created: str = _UNSET,
    webhook_url: str | None = _UNSET,
    notify_email: str | None = _UNSET,
    cameras: Iterable[dict] = _UNSET,
) -> dict:
    """A VisionAlert license (emulator defaults: size 50, ``meraki``, expiring 2099)."""
    return {
        "code": code,
        **_given(
            size=size,
            va_type=va_type,
            expiration=expiration,
            created=created,
            webhook_url=webhook_url,
            notify_email=notify_email,
            cameras=_listed(cameras),
        ),
    }


def camera(
    serial: str, *, name: str = _UNSET, tags: Iterable[str] = _UNSET, notes: str = _UNSET
) -> dict:
    """A VisionAlert camera of a license (the name defaults to the serial)."""
    return {"serial": serial, **_given(name=name, tags=_listed(tags), notes=notes)}


def parking(
    name: str,
    *,
    parking_spaces: int = _UNSET,
    absent_timer: int = _UNSET,
    cameras: Iterable[dict] = _UNSET,
) -> dict:
    """A ParkPow parking lot (emulator defaults: 0 spaces, absent timer 3)."""
    return {
        "name": name,
        **_given(
            parking_spaces=parking_spaces, absent_timer=absent_timer, cameras=_listed(cameras)
        ),
    }


def parking_camera(
    code: str,
    *,
    name: str = _UNSET,
    type: str = _UNSET,
    notes: str = _UNSET,
    longitude: float | None = _UNSET,
    latitude: float | None = _UNSET,
) -> dict:
    """A ParkPow camera of a parking (``type``: ENTRANCE, EXIT or SPOT, the default)."""
    return {
        "code": code,
        **_given(name=name, type=type, notes=notes, longitude=longitude, latitude=latitude),
    }


def vehicle(license_plate: str, **fields: object) -> dict:
    """A ParkPow vehicle: its plate, ``payment_status`` and ``field1`` … ``field6``."""
    return {"license_plate": license_plate, **fields}


def _listed(items: object) -> object:
    return items if items is _UNSET else list(items)
