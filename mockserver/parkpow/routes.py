"""ParkPow HTTP layer (placeholder until the endpoints land)."""

from flask import Blueprint

from ..core.web import current_account, json_response

blueprint = Blueprint("parkpow", __name__, url_prefix="/api/v1")


@blueprint.get("/parking-list/")
def parking_list():
    current_account("parkpow")
    return json_response([])
