"""The world a cassette implies: the seed document a replay starts from.

What a recording shows of the world before it began: one account per token placeholder
(none for a token every reply refused as unknown), without a product the service refused
it every time (403), throttled only if a reply said so; the VisionAlert licenses its
license lists showed (and, for a license id a path used with success but no list showed,
a license of that id's own, under the code its cameras name, else ``LICENSE-<id>``); the
cameras its camera lists and camera reads showed before any upload registered them;
ParkPow's parkings and cameras as its first parking-list showed them (cameras created
earlier in the recording left out), and the vehicles its vehicle lists showed before the
recording created them (and before any import). What no reply showed (logs, references,
visits) is not seeded: a replay that needs it reports the difference.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote

VA = "/v1/vision-alert/"
PP = "/api/v1/"
VA_LICENSE_PATH = re.compile(r"/v1/vision-alert/(\d+)/")
VA_CAMERA_PATH = re.compile(r"/v1/vision-alert/(\d+)/cameras/([^/]+)(?:/(logs|reference))?/?")
CAMERA_TYPES = {"Entrance": "ENTRANCE", "Exit": "EXIT", "Spot": "SPOT"}
THROTTLED = "Request was throttled"
REPLAY_TOKEN = "parity-{}"
UNKNOWN_TOKEN = "parity-unknown-{}"


def placeholder(exchange: dict) -> str | None:
    """The token placeholder the request was sent with (None: no credentials)."""
    value = exchange["request"]["headers"].get("authorization", "")
    credentials = value.partition(" ")[2].strip()
    return credentials or None


def reply_json(exchange: dict) -> object:
    body = exchange["response"]["body"] or {}
    return body.get("json")


def upload_serial(exchange: dict) -> str | None:
    """The camera a create-log upload names (its ``camera_id`` field)."""
    body = exchange["request"]["body"] or {}
    for part in body.get("multipart", []):
        if part["name"] == "camera_id" and "value" in part:
            return part["value"]
    return None


@dataclass
class Account:
    placeholder: str
    exchanges: list[dict] = field(default_factory=list)
    licenses: dict[str, dict] = field(default_factory=dict)  # recorded id -> license
    cameras: dict[str, dict[str, dict]] = field(default_factory=dict)  # id -> serial -> camera
    parkings: list[dict] | None = None
    vehicles: dict[str, dict] = field(default_factory=dict)
    codes: dict[str, str] = field(default_factory=dict)  # license id -> code, from cameras

    def unknown(self) -> bool:
        return all(e["response"]["status"] == 401 for e in self.exchanges)

    def products(self) -> list[str]:
        refused = []
        for product, prefix in (("visionalert", VA), ("parkpow", PP)):
            statuses = [
                e["response"]["status"]
                for e in self.exchanges
                if e["request"]["path"].startswith(prefix)
            ]
            if statuses and all(status == 403 for status in statuses):
                refused.append(product)
        return [p for p in ("parkpow", "visionalert") if p not in refused]

    def throttled(self) -> bool:
        for exchange in self.exchanges:
            found = reply_json(exchange)
            detail = found.get("detail") if isinstance(found, dict) else None
            if exchange["response"]["status"] == 429 and THROTTLED in str(detail):
                return True
        return False


@dataclass
class Implied:
    seed: dict  # the seed document
    tokens: dict[str, str]  # placeholder -> the token the replay sends for it
    license_codes: dict[str, str]  # a recorded license id -> its code
    seeded: list[str]  # the placeholders of the accounts seeded, in the seed's order


def implied_seed(exchanges: list[dict]) -> Implied:
    """The seed a replay starts from, and how the replay names the recording's tokens."""
    accounts: dict[str, Account] = {}
    for exchange in exchanges:
        name = placeholder(exchange)
        if name is not None:
            accounts.setdefault(name, Account(name)).exchanges.append(exchange)
    tokens: dict[str, str] = {}
    documents, license_codes = [], {}
    for number, account in enumerate(accounts.values(), start=1):
        if account.unknown():
            tokens[account.placeholder] = UNKNOWN_TOKEN.format(number)
            continue
        tokens[account.placeholder] = REPLAY_TOKEN.format(number)
        _read(account)
        document, codes = _document(account, tokens[account.placeholder])
        documents.append(document)
        license_codes.update(codes)
    seeded = [name for name, token in tokens.items() if not token.startswith("parity-unknown")]
    return Implied({"accounts": documents}, tokens, license_codes, seeded)


def _read(account: Account) -> None:
    uploaded: set[str] = set()
    created_cameras: set[str] = set()
    created_plates: set[str] = set()
    imported = False  # after an import, a list may show plates no request named
    for exchange in account.exchanges:
        request, status = exchange["request"], exchange["response"]["status"]
        path, method = request["path"], request["method"]
        found = reply_json(exchange)
        if method == "POST" and path.rstrip("/").endswith("create-log"):
            serial = upload_serial(exchange)
            if serial:
                uploaded.add(serial)
        elif method == "POST" and path.startswith(PP):
            fields = _fields(request)
            if "create-camera" in path or "log-vehicle" in path:
                created_cameras.add(str(fields.get("code") or fields.get("camera") or ""))
            imported = imported or "import-vehicles" in path
            if "create-vehicle" in path and fields.get("license_plate"):
                created_plates.add(str(fields["license_plate"]).upper())
        if status != 200 or method != "GET":
            continue
        if path.rstrip("/") == VA + "licenses" and isinstance(found, list):
            for item in found:
                if isinstance(item, dict) and "id" in item:
                    account.licenses.setdefault(str(item["id"]), item)
        elif path.startswith(VA):
            _va_cameras(account, path, found, uploaded)
        elif path.rstrip("/") == PP + "parking-list" and isinstance(found, list):
            if account.parkings is None:
                account.parkings = _parkings(found, created_cameras)
        elif path.rstrip("/") == PP + "vehicles" and isinstance(found, dict) and not imported:
            for item in found.get("results") or []:
                plate = str(item.get("license_plate", "")).upper()
                if plate and plate not in created_plates:
                    account.vehicles.setdefault(plate, item)


def _va_cameras(account: Account, path: str, found: object, uploaded: set[str]) -> None:
    license_path = VA_LICENSE_PATH.match(path)
    if license_path is None:
        return
    license_id = license_path.group(1)
    cameras = account.cameras.setdefault(license_id, {})
    item = VA_CAMERA_PATH.fullmatch(path)
    if path.rstrip("/").endswith("/cameras") and isinstance(found, dict):
        listed = [c for c in found.get("results") or [] if isinstance(c, dict)]
    elif item is not None:
        serial = unquote(item.group(2))  # the recorded path is as the client encoded it
        listed = [
            found if item.group(3) is None and isinstance(found, dict) else {"serial": serial}
        ]
    else:
        listed = []
    for camera in listed:
        serial = camera.get("serial")
        if not isinstance(serial, str) or serial in uploaded:
            continue
        if "name" not in cameras.get(serial, {}):  # a list's camera over a path's serial
            cameras[serial] = camera
        if isinstance(camera.get("license"), str):  # cameras name their license's code
            account.codes.setdefault(license_id, camera["license"])


def _fields(request: dict) -> dict:
    body = request["body"] or {}
    if isinstance(body.get("json"), dict):
        return body["json"]
    if "multipart" in body:
        return {p["name"]: p["value"] for p in body["multipart"] if "value" in p}
    if "text" in body:
        return dict(parse_qsl(body["text"], keep_blank_values=True))
    return {}


def _parkings(found: list, created_cameras: set[str]) -> list[dict]:
    parkings = []
    for parking in found:
        if not isinstance(parking, dict) or not parking.get("name"):
            continue
        cameras = []
        for camera in parking.get("camera_set") or []:
            if not isinstance(camera, dict) or camera.get("code") in created_cameras:
                continue
            seeded = {"code": camera["code"], "name": camera.get("name") or camera["code"]}
            seeded["type"] = CAMERA_TYPES.get(camera.get("type"), "SPOT")
            for key in ("latitude", "longitude"):
                seeded[key] = None if camera.get(key) in (None, "None") else camera[key]
            if camera.get("notes") not in (None, "None"):
                seeded["notes"] = camera["notes"]
            cameras.append(seeded)
        parkings.append(
            {
                "name": parking["name"],
                "parking_spaces": parking.get("parking_spaces", 0),
                "absent_timer": parking.get("absent_timer", 3),
                "cameras": cameras,
            }
        )
    return parkings


def _document(account: Account, token: str) -> tuple[dict, dict[str, str]]:
    licenses = []
    used = set(account.licenses) | set(account.cameras)
    for license_id in sorted(used, key=int):
        shown = account.licenses.get(license_id, {})
        code = shown.get("code") or account.codes.get(license_id) or f"LICENSE-{license_id}"
        license = {"code": code}
        for key in ("size", "va_type", "expiration", "created"):
            if shown.get(key) is not None:
                license[key] = shown[key]
        license["cameras"] = [
            {
                "serial": serial,
                "name": camera.get("name") or serial,
                "tags": list(camera.get("tags") or []),
                "notes": camera.get("notes") or "",
            }
            # lists show the newest first: the oldest is seeded first
            for serial, camera in reversed(account.cameras.get(license_id, {}).items())
        ]
        licenses.append((license_id, license))
    document = {
        "token": token,
        "products": account.products(),
        "rate_limit_per_second": 1 if account.throttled() else None,
        "visionalert": {"licenses": [license for _, license in licenses]},
        "parkpow": {
            "parkings": account.parkings or [],
            "vehicles": [
                {
                    "license_plate": plate,
                    **{
                        key: vehicle[key]
                        for key in ("payment_status", *(f"field{i}" for i in range(1, 7)))
                        if vehicle.get(key) is not None
                    },
                }
                for plate, vehicle in account.vehicles.items()
            ],
        },
    }
    return document, {license_id: license["code"] for license_id, license in licenses}
