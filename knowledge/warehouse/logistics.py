"""A deterministic, seeded generator of a parcel-delivery company's warehouse in DuckDB.

The data spans 2024-01-01 to 2025-12-31: shipments with a weekly cycle (quiet Sundays), the 618 and Double 11
peaks a few days after the shopping festivals, a deep Spring Festival dip and year-on-year growth; parcel weights
that depend on the sender's industry, fees by service level, lane and customer segment, on-time delivery that
differs by service level and worsens in peak weeks and in the far regions, repeat delivery attempts, and claims
for damage, loss and delay. Every array is drawn with numpy from one seeded generator, so the same seed gives the
same rows; DuckDB scans the arrays and finishes the tables in SQL. The file is built under a temporary name and
renamed into place, so a failed build leaves nothing behind.

Tables: ``hubs``, ``customers``, ``couriers``, ``vehicles``, ``shipments``, ``delivery_attempts``, ``claims``;
``knowledge/catalog/logistics/catalog.yaml`` describes them.
"""

from __future__ import annotations

import os
import time
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np

from knowledge.warehouse import _logistics_reference as ref
from knowledge.warehouse._build import WarehouseReport, check_target, write_atomically
from kubeai.errors import WarehouseError

if TYPE_CHECKING:
    import duckdb
    from numpy.typing import NDArray

__all__ = ["LOGISTICS_END", "LOGISTICS_START", "LogisticsWarehouseReport", "build_logistics_warehouse"]

LOGISTICS_START = date(2024, 1, 1)
LOGISTICS_END = date(2025, 12, 31)
MAX_SHIPMENTS = 50_000_000

_DAYS = (LOGISTICS_END - LOGISTICS_START).days + 1
_CUSTOMER_HISTORY_DAYS = 1_096  # accounts opened since 2021-01-01 form the base at the start
_SPRING_FESTIVALS = (date(2024, 2, 10), date(2025, 1, 29))
_TABLES = ("hubs", "customers", "couriers", "vehicles", "shipments", "delivery_attempts", "claims")
_NONE = -1  # integer code for SQL NULL in the numpy columns
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
_GIVEN = "伟芳娜敏静强磊军洋勇艳杰涛明超秀霞平刚桂英华建国志红飞鹏辉"


LogisticsWarehouseReport = WarehouseReport
"""What :func:`build_logistics_warehouse` wrote (one report type for every bundled warehouse)."""


def build_logistics_warehouse(
    path: str | os.PathLike[str], *, shipments: int = 200_000, seed: int = 11, overwrite: bool = True
) -> LogisticsWarehouseReport:
    """Generate the logistics warehouse into a DuckDB file.

    Args:
        path: Target ``.duckdb`` file; its folder is created if needed.
        shipments: Number of shipments created (cancelled ones included); the other tables scale with it.
        seed: Random seed; the same seed and ``shipments`` give the same data.
        overwrite: Replace an existing file; when ``False`` an existing file is an error.

    Returns:
        Row counts, timing and the date range.

    Raises:
        WarehouseError: ``shipments`` is out of range, the target exists and ``overwrite`` is false, or DuckDB
            failed; nothing is left at ``path`` or beside it.
    """
    if not 5_000 <= shipments <= MAX_SHIPMENTS:
        raise WarehouseError(
            f"shipments must be between 5000 and {MAX_SHIPMENTS}, got {shipments}; pick a size in range."
        )
    target = check_target(path, example="logistics.duckdb", overwrite=overwrite)
    start = time.perf_counter()
    frames = generate_frames(shipments=shipments, seed=seed)
    rows, first, last = write_atomically(
        target,
        what="logistics",
        load=lambda con: _load(con, frames),
        tables=_TABLES,
        dates_sql="SELECT MIN(created_date), MAX(created_date) FROM shipments",
    )
    return LogisticsWarehouseReport(
        path=target, rows=rows, seconds=time.perf_counter() - start, seed=seed, first_date=first, last_date=last
    )


# --------------------------------------------------------------------------------------------- generation


def generate_frames(*, shipments: int, seed: int) -> dict[str, dict[str, NDArray[Any]]]:
    """Every table's columns as numpy arrays (codes, day offsets and integer cents; strings only in small tables)."""
    rng = np.random.default_rng(seed)
    hubs = _hubs(rng)
    customers, activity_cum = _customers(rng, shipments)
    couriers = _couriers(rng, shipments)
    vehicles = _vehicles(rng, len(couriers["courier_id"]))
    ship = _shipments(rng, shipments, customers, activity_cum)
    _assign_couriers_and_vehicles(rng, ship, couriers, vehicles)
    attempts = _attempts(rng, ship)
    claims = _claims(rng, ship)
    return {
        "hubs": hubs,
        "customers": customers,
        "couriers": couriers,
        "vehicles": vehicles,
        "shipments": ship,
        "delivery_attempts": attempts,
        "claims": claims,
    }


def _hubs(rng: np.random.Generator) -> dict[str, NDArray[Any]]:
    regions = {r[0]: r for r in ref.REGIONS}
    n = len(ref.HUBS)
    return {
        "hub_id": np.arange(1, n + 1),
        "hub_code": np.array([h[0] for h in ref.HUBS], dtype=object),
        "hub_name": np.array([h[1] for h in ref.HUBS], dtype=object),
        "hub_name_en": np.array([h[2] for h in ref.HUBS], dtype=object),
        "city_name": np.array([h[3] for h in ref.HUBS], dtype=object),
        "city_name_en": np.array([h[4] for h in ref.HUBS], dtype=object),
        "region_name": np.array([regions[h[5]][1] for h in ref.HUBS], dtype=object),
        "region_name_en": np.array([regions[h[5]][2] for h in ref.HUBS], dtype=object),
        "hub_type": np.array([h[6] for h in ref.HUBS], dtype=object),
        "opened_day": -rng.integers(400, 3_600, size=n),
    }


def _dates(day: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """Month (1-12), day of month and weekday (0 = Monday) of day offsets from the start."""
    dates = np.datetime64(LOGISTICS_START) + day
    month = dates.astype("datetime64[M]").astype(np.int64) % 12 + 1
    dom = (dates - dates.astype("datetime64[M]")).astype(np.int64) + 1
    weekday = (dates.astype("datetime64[D]").view("int64") - 4) % 7  # 1970-01-01 was a Thursday
    return month, dom, weekday


def _festival_offsets(day: NDArray[np.int64]) -> NDArray[np.int64]:
    """Days from the nearest Spring Festival (negative before it)."""
    rel = np.stack([day - (f - LOGISTICS_START).days for f in _SPRING_FESTIVALS])
    nearest: NDArray[np.int64] = rel[np.abs(rel).argmin(axis=0), np.arange(len(day))]
    return nearest


def _day_weights() -> NDArray[np.float64]:
    days = np.arange(_DAYS)
    month, dom, weekday = _dates(days)
    weekly = np.array([1.08, 1.04, 1.02, 1.0, 1.0, 0.86, 0.72])[weekday]
    trend = 1.0 + 0.28 * days / _DAYS
    boost = np.ones(_DAYS)
    # Parcels follow the shopping festivals by a day or three: 618 (June 18) and Double 11 (November 11).
    june = (month == 6) & (dom >= 10) & (dom <= 24)
    boost[june] += 0.9 * np.exp(-np.abs(dom[june] - 19) / 2.5)
    nov = (month == 11) & (dom >= 8) & (dom <= 25)
    boost[nov] += 3.2 * np.exp(-np.abs(dom[nov] - 13) / 2.8)
    boost[(month == 12) & (dom >= 12) & (dom <= 15)] += 0.5  # Double 12
    rel = _festival_offsets(days)
    boost[(rel >= -25) & (rel < -8)] *= 1.12  # new-year goods and gifts
    boost[(rel >= -8) & (rel <= 8)] *= 0.35  # couriers go home, shops close
    weights: NDArray[np.float64] = weekly * trend * boost
    normalized: NDArray[np.float64] = weights / weights.sum()
    return normalized


def _pick(rng: np.random.Generator, weights: NDArray[np.float64] | list[float], size: int) -> NDArray[np.int64]:
    w = np.asarray(weights, dtype=np.float64)
    picked: NDArray[np.int64] = rng.choice(len(w), size=size, p=w / w.sum())
    return picked


def _pick_rows(rng: np.random.Generator, probs: NDArray[np.float64]) -> NDArray[np.int64]:
    """One draw per row from that row's categorical distribution."""
    cum = np.cumsum(probs / probs.sum(axis=1, keepdims=True), axis=1)
    picked: NDArray[np.int64] = np.minimum((rng.random(len(probs))[:, None] > cum).sum(axis=1), probs.shape[1] - 1)
    return picked


def _customers(rng: np.random.Generator, shipments: int) -> tuple[dict[str, NDArray[Any]], NDArray[np.float64]]:
    n = max(300, shipments // 60)
    base = int(n * 0.45)
    signup = np.concatenate(
        [rng.integers(-_CUSTOMER_HISTORY_DAYS, 0, size=base), rng.choice(_DAYS, size=n - base, p=_day_weights())]
    )
    signup.sort()
    segment = _pick(rng, [s[2] for s in ref.SEGMENTS], n)
    business = np.array([i[2] for i in ref.INDUSTRIES])
    industry = np.where(segment == 2, len(ref.INDUSTRIES) - 1, _pick(rng, business, n))
    hub_w = np.array([h[7] for h in ref.HUBS])
    activity = np.array([s[3] for s in ref.SEGMENTS])[segment] * rng.lognormal(0.0, 1.0, size=n)
    customers = {
        "customer_id": np.arange(1, n + 1),
        "segment_code": segment,
        "industry_code": industry,
        "home_hub_id": _pick(rng, hub_w, n) + 1,
        "signup_day": signup,
    }
    return customers, np.cumsum(activity)


def _couriers(rng: np.random.Generator, shipments: int) -> dict[str, NDArray[Any]]:
    hubs = len(ref.HUBS)
    n = max(4 * hubs, shipments // 300)
    hub_w = np.array([h[7] for h in ref.HUBS])
    # Two veterans per hub, the rest spread by volume, so every hub can deliver from day one.
    hub = np.concatenate([np.repeat(np.arange(hubs), 2), _pick(rng, hub_w, n - 2 * hubs)])
    veteran = np.arange(n) < 2 * hubs
    hired_before = veteran | (rng.random(n) < 0.62)
    hire_day = np.where(hired_before, -rng.integers(30, 2_900, size=n), rng.integers(0, _DAYS - 20, size=n))
    surname = rng.integers(0, len(_SURNAMES), size=n)
    given = rng.integers(0, len(_GIVEN), size=(n, 2))
    two_chars = rng.random(n) < 0.7
    names = np.array(
        [
            _SURNAMES[s] + _GIVEN[g[0]] + (_GIVEN[g[1]] if t else "")
            for s, g, t in zip(surname, given, two_chars, strict=True)
        ],
        dtype=object,
    )
    return {
        "courier_id": np.arange(1, n + 1),
        "courier_name": names,
        "hub_id": hub + 1,
        "team_code": _pick(rng, [t[2] for t in ref.TEAMS], n),
        "employment_code": _pick(rng, [e[1] for e in ref.EMPLOYMENT_TYPES], n),
        "hire_day": hire_day,
    }


def _vehicles(rng: np.random.Generator, couriers: int) -> dict[str, NDArray[Any]]:
    hubs = len(ref.HUBS)
    n = max(3 * hubs, couriers // 2)
    hub_w = np.array([h[7] for h in ref.HUBS])
    # Every hub owns at least one tricycle and one van; the rest are spread by volume.
    hub = np.concatenate([np.repeat(np.arange(hubs), 2), _pick(rng, hub_w, n - 2 * hubs)])
    kind = np.concatenate([np.tile([0, 1], hubs), _pick(rng, [v[3] for v in ref.VEHICLE_TYPES], n - 2 * hubs)])
    letters = np.array(list("ABCDEFGHJK"), dtype=object)
    plate = np.array(
        [f"{letters[a]}{d:05d}" for a, d in zip(rng.integers(0, 10, n), rng.integers(0, 100_000, n), strict=True)],
        dtype=object,
    )
    return {
        "vehicle_id": np.arange(1, n + 1),
        "plate_no": plate,
        "vehicle_code": kind,
        "capacity_kg": np.array([v[1] for v in ref.VEHICLE_TYPES])[kind],
        "hub_id": hub + 1,
        "purchase_day": -rng.integers(0, 2_500, size=n),
    }


def _shipments(
    rng: np.random.Generator, n: int, customers: dict[str, NDArray[Any]], activity_cum: NDArray[np.float64]
) -> dict[str, NDArray[Any]]:
    day = np.sort(rng.choice(_DAYS, size=n, p=_day_weights()))
    # Each shipment's sender is drawn by activity among the accounts opened by that day.
    opened = np.searchsorted(customers["signup_day"], day, side="right")
    limit = activity_cum[opened - 1]
    cust = np.minimum(np.searchsorted(activity_cum, rng.random(n) * limit, side="right"), opened - 1)
    segment = customers["segment_code"][cust]
    industry = customers["industry_code"][cust]
    # Service mix drifts from its 2024 to its 2025 shares (same-day and next-day grow).
    t = day / (_DAYS - 1)
    s0 = np.array([s[2] for s in ref.SERVICE_LEVELS])
    s1 = np.array([s[3] for s in ref.SERVICE_LEVELS])
    service = _pick_rows(rng, s0[None, :] * (1 - t[:, None]) + s1[None, :] * t[:, None])
    home = customers["home_hub_id"][cust] - 1
    origin, dest, lane, hub_region = _lanes(rng, home, service)
    promised = np.where(
        lane == 2,
        np.array([s[5] for s in ref.SERVICE_LEVELS])[service],
        np.array([s[4] for s in ref.SERVICE_LEVELS])[service],
    )
    # Parcel weight: log-normal around the industry's median, capped at 300 kg.
    median = np.array([i[3] for i in ref.INDUSTRIES])[industry]
    weight = np.clip(np.round(np.exp(np.log(median) + 0.85 * rng.standard_normal(n)), 2), 0.05, 300.0)
    # On time: the service's base rate, worse in peak weeks, over the Spring Festival and in the far regions,
    # improving slowly over the two years.
    month, dom, _ = _dates(day)
    peak = ((month == 11) & (dom >= 9) & (dom <= 22)) | ((month == 6) & (dom >= 15) & (dom <= 22))
    festival = np.abs(_festival_offsets(day)) <= 10
    region_penalty = np.array([r[3] for r in ref.REGIONS])[hub_region]
    p_on_time = (
        np.array([s[8] for s in ref.SERVICE_LEVELS])[service]
        - 0.14 * peak
        - 0.18 * festival
        - region_penalty[dest]
        - 0.03 * (lane == 2)
        + 0.03 * t
    )
    on_time = rng.random(n) < p_on_time
    early = np.where(promised > 1, rng.integers(0, 2, size=n), 0)
    transit = np.where(on_time, promised - early, promised + 1 + rng.geometric(0.55, size=n) - 1)
    delivered_day = day + transit
    status = np.zeros(n, dtype=np.int64)  # delivered
    roll = rng.random(n)
    status[roll < 0.018 + 0.0025 + 0.012] = 2  # returned to sender
    status[roll < 0.0025 + 0.012] = 3  # lost
    status[roll < 0.012] = 4  # cancelled before pickup
    status[(status == 0) & (delivered_day >= _DAYS)] = 1  # still in transit on the reference date
    method = _pick(rng, [0.70, 0.22, 0.08], n)  # door, locker, self_pickup
    method[status != 0] = _NONE
    fee_cents, cost_cents = _fees(
        rng, service=service, lane=lane, segment=segment, weight=weight, method=method, busy=peak | festival
    )
    cost_cents[status == 4] = 0
    return {
        "shipment_id": np.arange(1, n + 1),
        "customer_id": customers["customer_id"][cust],
        "origin_hub_id": origin + 1,
        "dest_hub_id": dest + 1,
        "service_code": service,
        "lane_code": lane,
        "method_code": method,
        "status_code": status,
        "day": day,
        "promised_day": day + promised,
        "delivered_day": np.where(status == 0, delivered_day, _NONE),
        "weight_kg": weight,
        "fee_cents": fee_cents,
        "cost_cents": cost_cents,
        "_on_time": on_time,
        "_industry": industry,
        "_segment": segment,
    }


def _lanes(
    rng: np.random.Generator, home: NDArray[np.int64], service: NDArray[np.int64]
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """Origin and destination hub positions, the lane (0 same city, 1 same region, 2 across) and hub regions."""
    n = len(home)
    hub_w = np.array([h[7] for h in ref.HUBS])
    origin = np.where(rng.random(n) < 0.88, home, _pick(rng, hub_w, n))
    dest = _pick(rng, hub_w, n)
    hub_city = np.unique([h[4] for h in ref.HUBS], return_inverse=True)[1]
    region_codes = [r[0] for r in ref.REGIONS]
    hub_region = np.array([region_codes.index(h[5]) for h in ref.HUBS])
    same_day = service == 0
    for city in np.unique(hub_city):  # same-day parcels stay in the sender's city
        members = np.flatnonzero(hub_city == city)
        rows = np.flatnonzero(same_day & (hub_city[origin] == city))
        dest[rows] = members[rng.integers(0, len(members), size=len(rows))]
    lane = np.where(
        hub_city[origin] == hub_city[dest], 0, np.where(hub_region[origin] == hub_region[dest], 1, 2)
    ).astype(np.int64)
    return origin, dest, lane, hub_region


def _fees(
    rng: np.random.Generator,
    *,
    service: NDArray[np.int64],
    lane: NDArray[np.int64],
    segment: NDArray[np.int64],
    weight: NDArray[np.float64],
    method: NDArray[np.int64],
    busy: NDArray[np.bool_],
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Fee and cost in cents: base plus per-kg above the first kilo, by lane and segment; line haul plus last mile."""
    n = len(service)
    first_kg = np.array([s[6] for s in ref.SERVICE_LEVELS])[service]
    per_kg = np.array([s[7] for s in ref.SERVICE_LEVELS])[service]
    lane_fee = np.array([0.85, 1.0, 1.3])[lane]
    price = np.array([s[4] for s in ref.SEGMENTS])[segment]
    fee = (first_kg + per_kg * np.maximum(weight - 1.0, 0.0)) * lane_fee * price * rng.uniform(0.95, 1.05, n)
    haul = np.array([1.5, 3.6, 6.2])[lane] + np.array([0.15, 0.45, 0.8])[lane] * weight
    last_mile = np.where(method == 2, 1.2, 3.6) + 1.4 * busy  # overtime in peak weeks and over the festival
    service_cost = np.array([s[9] for s in ref.SERVICE_LEVELS])[service]
    cost = (haul + last_mile) * service_cost * rng.uniform(0.9, 1.1, n)
    return np.round(fee * 100).astype(np.int64), np.round(cost * 100).astype(np.int64)


def _assign_couriers_and_vehicles(
    rng: np.random.Generator,
    ship: dict[str, NDArray[Any]],
    couriers: dict[str, NDArray[Any]],
    vehicles: dict[str, NDArray[Any]],
) -> None:
    """The destination hub's courier (hired by then) for parcels handed over; none for self-pickup and the rest."""
    n = len(ship["shipment_id"])
    status = ship["status_code"]
    handed = ((status == 0) & (ship["method_code"] != 2)) | (status == 2)
    courier = np.full(n, _NONE, dtype=np.int64)
    vehicle = np.full(n, _NONE, dtype=np.int64)
    # The vehicle fits the parcel: tricycles and vans for small parcels, trucks for heavy freight; a hub without
    # the wanted kind sends a van (every hub has one).
    weight = ship["weight_kg"]
    small = np.where(rng.random(n) < 0.75, 0, 1)
    wanted = np.select([weight <= 8.0, weight <= 40.0, weight <= 120.0], [small, 1, 2], default=3)
    for hub in range(1, len(ref.HUBS) + 1):
        rows = np.flatnonzero(handed & (ship["dest_hub_id"] == hub))
        members = np.flatnonzero(couriers["hub_id"] == hub)
        members = members[np.argsort(couriers["hire_day"][members], kind="stable")]
        hired = np.searchsorted(couriers["hire_day"][members], ship["day"][rows], side="right")
        courier[rows] = couriers["courier_id"][members[(rng.random(len(rows)) * hired).astype(np.int64)]]
        at_hub = vehicles["hub_id"] == hub
        vans = np.flatnonzero(at_hub & (vehicles["vehicle_code"] == 1))
        for kind in range(len(ref.VEHICLE_TYPES)):
            fleet = np.flatnonzero(at_hub & (vehicles["vehicle_code"] == kind))
            pool = fleet if len(fleet) else vans
            chosen = rows[wanted[rows] == kind]
            vehicle[chosen] = vehicles["vehicle_id"][pool[rng.integers(0, len(pool), size=len(chosen))]]
    ship["courier_id"] = courier
    ship["vehicle_id"] = vehicle


def _attempts(rng: np.random.Generator, ship: dict[str, NDArray[Any]]) -> dict[str, NDArray[Any]]:
    """Door and locker deliveries take one or more attempts; returned parcels fail two or three times."""
    status = ship["status_code"]
    delivered = (status == 0) & (ship["method_code"] != 2)
    returned = status == 2
    n = len(status)
    month, dom, _ = _dates(ship["day"])
    peak = (month == 11) & (dom >= 9) & (dom <= 22)
    p_fail = np.where(ship["method_code"] == 1, 0.03, 0.10) + 0.05 * peak
    failures = np.where(delivered, np.minimum(rng.geometric(1 - p_fail) - 1, 3), 0)
    failures = np.where(returned, rng.integers(2, 4, size=n), failures)
    count = np.where(delivered, failures + 1, np.where(returned, failures, 0))
    pos = np.repeat(np.arange(n), count)
    starts = np.repeat(np.cumsum(count) - count, count)
    number = np.arange(len(pos)) - starts + 1
    last = number == count[pos]
    success = delivered[pos] & last
    fail_outcome = _pick(rng, list(ref.FAILED_OUTCOME_WEIGHTS), len(pos)) + 1
    fail_outcome = np.where(returned[pos] & last, 3, fail_outcome)  # the last try before a return: refused
    # The successful attempt is on the delivery day; failed ones a day apart before it, never before creation.
    end_day = np.where(delivered, ship["delivered_day"], np.minimum(ship["promised_day"] + count, _DAYS - 1))
    attempt_day = np.maximum(end_day[pos] - (count[pos] - number), ship["day"][pos])
    return {
        "attempt_id": np.arange(1, len(pos) + 1),
        "shipment_id": ship["shipment_id"][pos],
        "courier_id": ship["courier_id"][pos],
        "attempt_no": number,
        "day": attempt_day,
        "outcome_code": np.where(success, 0, fail_outcome),
    }


def _claims(rng: np.random.Generator, ship: dict[str, NDArray[Any]]) -> dict[str, NDArray[Any]]:
    status = ship["status_code"]
    n = len(status)
    industry_factor = np.array([i[4] for i in ref.INDUSTRIES])[ship["_industry"]]
    heavy = 1.0 + np.minimum(ship["weight_kg"], 50.0) / 25.0
    delivered = status == 0
    late = delivered & ~ship["_on_time"]
    paying_segment = ship["_segment"] != 2
    p_damage = np.where(delivered, 0.0035 * industry_factor * heavy, 0.0)
    p_delay = np.where(late & paying_segment & (ship["service_code"] <= 1), 0.05, 0.0)
    roll = rng.random(n)
    kind = np.full(n, _NONE, dtype=np.int64)
    kind[(status == 3) & (roll < 0.92)] = 1  # loss
    kind[(kind == _NONE) & (roll < p_damage)] = 0  # damage
    kind[(kind == _NONE) & (rng.random(n) < p_delay)] = 2  # delay
    base_day = np.where(delivered, ship["delivered_day"], ship["promised_day"] + 5)
    claim_day = base_day + rng.geometric(0.2, size=n)
    idx = np.flatnonzero((kind != _NONE) & (claim_day < _DAYS))
    kind = kind[idx]
    value = ship["weight_kg"][idx] * 40.0 * industry_factor[idx] + 60.0
    amount = np.where(
        kind == 2,
        ship["fee_cents"][idx] / 100.0,
        np.minimum(value * rng.lognormal(0.0, 0.6, size=len(idx)), 20_000.0),
    )
    amount_cents = np.round(amount * 100).astype(np.int64)
    recent = claim_day[idx] > _DAYS - 30
    claim_status = np.where(recent & (rng.random(len(idx)) < 0.6), 2, np.where(rng.random(len(idx)) < 0.78, 0, 1))
    share = np.where(kind == 2, 1.0, rng.uniform(0.6, 1.0, size=len(idx)))
    paid_cents = np.where(claim_status == 0, np.round(amount_cents * share), 0).astype(np.int64)
    return {
        "claim_id": np.arange(1, len(idx) + 1),
        "shipment_id": ship["shipment_id"][idx],
        "day": claim_day[idx],
        "type_code": kind,
        "amount_cents": amount_cents,
        "paid_cents": paid_cents,
        "status_code": claim_status,
    }


# ------------------------------------------------------------------------------------------------ loading


def _sql_list(values: tuple[str, ...] | list[str]) -> str:
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def _label(codes: tuple[str, ...] | list[str], column: str) -> str:
    """SQL that maps an integer code column (``-1`` for none) to its label."""
    return f"CASE WHEN {column} < 0 THEN NULL ELSE ({_sql_list(codes)})[{column} + 1] END"


def _load(con: duckdb.DuckDBPyConnection, frames: dict[str, dict[str, NDArray[Any]]]) -> None:
    for name, columns in frames.items():
        # DuckDB scans a dict of equal-length numpy arrays in place, like a data frame.
        con.register(f"src_{name}", {k: v for k, v in columns.items() if not k.startswith("_")})
    start = f"DATE '{LOGISTICS_START.isoformat()}'"

    def day(column: str) -> str:
        return f"CASE WHEN {column} = {_NONE} THEN NULL ELSE {start} + CAST({column} AS INTEGER) END"

    def past_day(column: str) -> str:
        return f"{start} + CAST({column} AS INTEGER)"

    def money(column: str) -> str:
        return f"CAST(CAST({column} AS DECIMAL(14, 0)) / 100 AS DECIMAL(12, 2))"

    segments = [s[0] for s in ref.SEGMENTS]
    industries = [i[0] for i in ref.INDUSTRIES]
    statements = [
        "CREATE TABLE hubs AS SELECT CAST(hub_id AS INTEGER) AS hub_id, hub_code, hub_name, hub_name_en, city_name, "
        f"city_name_en, region_name, region_name_en, hub_type, {past_day('opened_day')} AS opened_date "
        "FROM src_hubs ORDER BY hub_id",
        "CREATE TABLE customers AS SELECT CAST(customer_id AS BIGINT) AS customer_id, "
        "'C' || lpad(CAST(customer_id AS VARCHAR), 6, '0') AS account_code, "
        f"{_label(segments, 'segment_code')} AS segment, {_label(industries, 'industry_code')} AS industry, "
        f"CAST(home_hub_id AS INTEGER) AS home_hub_id, {past_day('signup_day')} AS signup_date "
        "FROM src_customers ORDER BY customer_id",
        "CREATE TABLE couriers AS SELECT CAST(courier_id AS INTEGER) AS courier_id, courier_name, "
        f"CAST(hub_id AS INTEGER) AS hub_id, {_label([t[0] for t in ref.TEAMS], 'team_code')} AS team, "
        f"{_label([e[0] for e in ref.EMPLOYMENT_TYPES], 'employment_code')} AS employment_type, "
        f"{past_day('hire_day')} AS hire_date FROM src_couriers ORDER BY courier_id",
        "CREATE TABLE vehicles AS SELECT CAST(vehicle_id AS INTEGER) AS vehicle_id, plate_no, "
        f"{_label([v[0] for v in ref.VEHICLE_TYPES], 'vehicle_code')} AS vehicle_type, "
        "CAST(capacity_kg AS INTEGER) AS capacity_kg, CAST(hub_id AS INTEGER) AS hub_id, "
        f"{past_day('purchase_day')} AS purchase_date FROM src_vehicles ORDER BY vehicle_id",
        "CREATE TABLE shipments AS SELECT CAST(shipment_id AS BIGINT) AS shipment_id, "
        "'SF' || lpad(CAST(shipment_id * 7919 % 100000000 AS VARCHAR), 8, '0') || lpad(CAST(shipment_id AS VARCHAR), "
        "8, '0') AS tracking_no, CAST(customer_id AS BIGINT) AS customer_id, "
        "CAST(origin_hub_id AS INTEGER) AS origin_hub_id, CAST(dest_hub_id AS INTEGER) AS dest_hub_id, "
        "CAST(NULLIF(courier_id, -1) AS INTEGER) AS courier_id, CAST(NULLIF(vehicle_id, -1) AS INTEGER) AS vehicle_id, "
        f"{_label([s[0] for s in ref.SERVICE_LEVELS], 'service_code')} AS service_level, "
        f"{_label(list(ref.LANE_TYPES), 'lane_code')} AS lane_type, "
        f"{_label(['door', 'locker', 'self_pickup'], 'method_code')} AS delivery_method, "
        f"{_label(list(ref.STATUSES), 'status_code')} AS status, "
        f"{past_day('day')} AS created_date, {past_day('promised_day')} AS promised_date, "
        f"{day('delivered_day')} AS delivered_date, CAST(weight_kg AS DECIMAL(8, 2)) AS weight_kg, "
        f"{money('fee_cents')} AS fee, {money('cost_cents')} AS cost FROM src_shipments ORDER BY shipment_id",
        "CREATE TABLE delivery_attempts AS SELECT CAST(attempt_id AS BIGINT) AS attempt_id, "
        "CAST(shipment_id AS BIGINT) AS shipment_id, CAST(courier_id AS INTEGER) AS courier_id, "
        f"CAST(attempt_no AS INTEGER) AS attempt_no, {past_day('day')} AS attempt_date, "
        f"{_label(list(ref.ATTEMPT_OUTCOMES), 'outcome_code')} AS outcome "
        "FROM src_delivery_attempts ORDER BY attempt_id",
        "CREATE TABLE claims AS SELECT CAST(claim_id AS BIGINT) AS claim_id, "
        "CAST(shipment_id AS BIGINT) AS shipment_id, "
        f"{past_day('day')} AS claim_date, {_label(list(ref.CLAIM_TYPES), 'type_code')} AS claim_type, "
        f"{money('amount_cents')} AS claim_amount, {money('paid_cents')} AS paid_amount, "
        f"{_label(list(ref.CLAIM_STATUSES), 'status_code')} AS status FROM src_claims ORDER BY claim_id",
    ]
    con.execute("BEGIN")
    for statement in statements:
        con.execute(statement)
    con.execute("COMMIT")
    for name in frames:
        con.unregister(f"src_{name}")
