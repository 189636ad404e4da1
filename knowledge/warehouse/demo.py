"""A deterministic, seeded generator of a realistic e-commerce demo warehouse in DuckDB.

The data spans 2024-01-01 to 2025-12-31: orders with a weekly cycle, the 618 and Double 11 shopping festivals,
a Spring Festival dip and year-on-year growth; log-normal prices, Zipf-like product popularity, repeat buyers
drawn from a heavy-tailed activity distribution, and refund rates that vary by category and channel. Every
array is drawn with numpy from one seeded generator, so the same seed gives the same rows; the tables are
scanned by DuckDB straight from the numpy arrays and finished in SQL. The file is built under a temporary name and
renamed into place, so a failed build leaves nothing behind.

Tables: ``regions``, ``cities``, ``categories``, ``products``, ``channels``, ``users``, ``orders``,
``order_items``, ``refunds``; ``knowledge/catalog/demo/catalog.yaml`` describes them.
"""

from __future__ import annotations

import os
import time
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np

from knowledge.warehouse import _demo_reference as ref
from knowledge.warehouse._build import WarehouseReport, check_target, write_atomically
from kubeai.errors import WarehouseError

if TYPE_CHECKING:
    import duckdb
    from numpy.typing import NDArray

__all__ = ["DEMO_END", "DEMO_START", "DemoWarehouseReport", "build_demo_warehouse"]

DEMO_START = date(2024, 1, 1)
DEMO_END = date(2025, 12, 31)
MAX_ORDERS = 50_000_000

_DAYS = (DEMO_END - DEMO_START).days + 1
_USER_HISTORY_DAYS = 184  # users registered since 2023-07-01 form the base at the start
_SPRING_FESTIVALS = (date(2024, 2, 10), date(2025, 1, 29))
_PRODUCTS = 6_000
_TABLES = ("regions", "cities", "categories", "products", "channels", "users", "orders", "order_items", "refunds")


DemoWarehouseReport = WarehouseReport
"""What :func:`build_demo_warehouse` wrote (one report type for every bundled warehouse)."""


def build_demo_warehouse(
    path: str | os.PathLike[str], *, orders: int = 1_000_000, seed: int = 7, overwrite: bool = True
) -> DemoWarehouseReport:
    """Generate the demo warehouse into a DuckDB file.

    Args:
        path: Target ``.duckdb`` file; its folder is created if needed.
        orders: Number of orders (placed orders, cancelled included).
        seed: Random seed; the same seed and ``orders`` give the same data.
        overwrite: Replace an existing file; when ``False`` an existing file is an error.

    Returns:
        Row counts, timing and the date range.

    Raises:
        WarehouseError: ``orders`` is out of range, the target exists and ``overwrite`` is false, or DuckDB failed;
            nothing is left at ``path`` or beside it.
    """
    if not 1_000 <= orders <= MAX_ORDERS:
        raise WarehouseError(f"orders must be between 1000 and {MAX_ORDERS}, got {orders}; pick a size in range.")
    target = check_target(path, example="demo.duckdb", overwrite=overwrite)
    start = time.perf_counter()
    frames = generate_frames(orders=orders, seed=seed)
    rows, first, last = write_atomically(
        target,
        what="demo",
        load=lambda con: _load(con, frames),
        tables=_TABLES,
        dates_sql="SELECT MIN(order_date), MAX(order_date) FROM orders",
    )
    return DemoWarehouseReport(
        path=target,
        rows=rows,
        seconds=time.perf_counter() - start,
        seed=seed,
        first_date=first,
        last_date=last,
    )


# --------------------------------------------------------------------------------------------- generation


def generate_frames(*, orders: int, seed: int) -> dict[str, dict[str, NDArray[Any]]]:
    """Every table's columns as numpy arrays (codes and integer cents; strings only in small tables)."""
    rng = np.random.default_rng(seed)
    products = _products(rng)
    users, arrival_cum, arrival_days = _users(rng, orders)
    order_cols = _orders(rng, orders, users, arrival_cum, arrival_days)
    items = _order_items(rng, order_cols, products)
    _order_totals(rng, order_cols, items)
    refunds = _refunds(rng, order_cols, items, products)
    return {
        "regions": _regions(),
        "cities": _cities(),
        "categories": _categories(),
        "channels": _channels(),
        "products": products,
        "users": users,
        "orders": order_cols,
        "order_items": items,
        "refunds": refunds,
    }


def _regions() -> dict[str, NDArray[Any]]:
    return {
        "region_id": np.arange(1, len(ref.REGIONS) + 1),
        "region_code": np.array([r[0] for r in ref.REGIONS], dtype=object),
        "region_name": np.array([r[1] for r in ref.REGIONS], dtype=object),
        "region_name_en": np.array([r[2] for r in ref.REGIONS], dtype=object),
    }


def _cities() -> dict[str, NDArray[Any]]:
    region_ids = {r[0]: i + 1 for i, r in enumerate(ref.REGIONS)}
    return {
        "city_id": np.arange(1, len(ref.CITIES) + 1),
        "city_name": np.array([c[0] for c in ref.CITIES], dtype=object),
        "city_name_en": np.array([c[1] for c in ref.CITIES], dtype=object),
        "region_id": np.array([region_ids[c[2]] for c in ref.CITIES]),
        "tier": np.array([c[3] for c in ref.CITIES], dtype=object),
    }


def _categories() -> dict[str, NDArray[Any]]:
    return {
        "category_id": np.arange(1, len(ref.CATEGORIES) + 1),
        "category_name": np.array([c[0] for c in ref.CATEGORIES], dtype=object),
        "category_name_en": np.array([c[1] for c in ref.CATEGORIES], dtype=object),
    }


def _channels() -> dict[str, NDArray[Any]]:
    return {
        "channel_id": np.arange(1, len(ref.CHANNELS) + 1),
        "channel_code": np.array([c[0] for c in ref.CHANNELS], dtype=object),
        "channel_name": np.array([c[1] for c in ref.CHANNELS], dtype=object),
        "channel_name_en": np.array([c[2] for c in ref.CHANNELS], dtype=object),
    }


def _products(rng: np.random.Generator) -> dict[str, NDArray[Any]]:
    cat_weights = np.array([c[5] for c in ref.CATEGORIES])
    category = rng.choice(len(ref.CATEGORIES), size=_PRODUCTS, p=cat_weights / cat_weights.sum())
    median = np.array([c[2] for c in ref.CATEGORIES])[category]
    sigma = np.array([c[3] for c in ref.CATEGORIES])[category]
    price = np.exp(np.log(median) + sigma * rng.standard_normal(_PRODUCTS))
    # Prices end in .9 or .00 the way shops set them.
    cents = np.maximum(np.round(price) * 100 - rng.choice([0, 10, 100], size=_PRODUCTS), 190).astype(np.int64)
    brand_slot = rng.integers(0, 3, size=_PRODUCTS)
    brands = np.array([b for c in ref.CATEGORIES for b in c[6]], dtype=object)
    # Popularity: a Zipf-like law over a random ranking of the products.
    rank = rng.permutation(_PRODUCTS)
    popularity = 1.0 / (rank + 8.0) ** 1.1
    return {
        "product_id": np.arange(1, _PRODUCTS + 1),
        "category_id": category + 1,
        "brand": brands[category * 3 + brand_slot],
        "model_no": rng.integers(100, 1000, size=_PRODUCTS),
        "list_price_cents": cents,
        "_popularity": popularity,
    }


def _day_weights() -> NDArray[np.float64]:
    days = np.arange(_DAYS)
    dates = np.datetime64(DEMO_START) + days
    weekday = (dates.astype("datetime64[D]").view("int64") - 4) % 7  # 1970-01-01 was a Thursday: 0 = Monday
    weekly = np.array([0.95, 0.93, 0.95, 0.98, 1.04, 1.12, 1.08])[weekday]
    trend = 1.0 + 0.35 * days / _DAYS
    month = dates.astype("datetime64[M]").astype(int) % 12 + 1
    dom = (dates - dates.astype("datetime64[M]")).astype(int) + 1
    boost = np.ones(_DAYS)
    # 618: a ramp through June 1-18 peaking on the 18th, with a smaller opening bump on June 1.
    june = (month == 6) & (dom <= 18)
    boost[june] += 1.6 * np.exp(-(18 - dom[june]) / 3.0) + 0.3
    boost[(month == 6) & (dom == 1)] += 0.6
    # Double 11: pre-sale from Oct 31, a peak on Nov 11 (about 6x a normal day), tailing off to Nov 13.
    d11 = ((month == 10) & (dom == 31)) | ((month == 11) & (dom <= 13))
    offset = np.where(month == 11, dom - 11, -11)
    boost[d11] += 5.0 * np.exp(-np.abs(offset[d11]) / 1.6) + 0.4
    boost[(month == 12) & (dom == 12)] += 1.2  # Double 12
    boost[(month == 3) & (dom == 8)] += 0.5  # Women's Day
    for festival in _SPRING_FESTIVALS:
        rel = days - (festival - DEMO_START).days
        boost[(rel >= -20) & (rel < -10)] *= 1.15  # new-year shopping
        boost[(rel >= -7) & (rel <= 6)] *= 0.45  # couriers stop, shops close
    weights: NDArray[np.float64] = weekly * trend * boost
    normalized: NDArray[np.float64] = weights / weights.sum()
    return normalized


def _users(
    rng: np.random.Generator, orders: int
) -> tuple[dict[str, NDArray[Any]], NDArray[np.float64], NDArray[np.int64]]:
    n = max(200, int(orders * 0.22))
    base = int(n * 0.3)
    day_w = _day_weights()
    arrival = np.concatenate(
        [
            rng.integers(-_USER_HISTORY_DAYS, 0, size=base),
            rng.choice(_DAYS, size=n - base, p=day_w),
        ]
    )
    arrival.sort()
    activity = rng.lognormal(0.0, 1.25, size=n)
    gender_p = np.array([g[1] for g in ref.GENDERS])
    gender = rng.choice(len(ref.GENDERS), size=n, p=gender_p / gender_p.sum())
    band_p = np.array([b[1] for b in ref.AGE_BANDS])
    band = rng.choice(len(ref.AGE_BANDS), size=n, p=band_p / band_p.sum())
    lo = np.array([b[2] for b in ref.AGE_BANDS])[band]
    hi = np.array([b[3] for b in ref.AGE_BANDS])[band]
    users = {
        "user_id": np.arange(1, n + 1),
        "gender_code": gender,
        "age_band_code": band,
        "birth_year": lo + (rng.random(n) * (hi - lo + 1)).astype(np.int64),
        "registered_day": arrival,
    }
    return users, np.cumsum(activity), arrival


def _orders(
    rng: np.random.Generator,
    n: int,
    users: dict[str, NDArray[Any]],
    activity_cum: NDArray[np.float64],
    arrival: NDArray[np.int64],
) -> dict[str, NDArray[Any]]:
    day = np.sort(rng.choice(_DAYS, size=n, p=_day_weights()))
    hour_w = np.array([3, 1.5, 0.8, 0.4, 0.3, 0.4, 1, 2, 3.5, 5, 6, 6, 5.5, 5, 5, 5, 5, 5, 5.5, 6.5, 8, 8.5, 7, 5])
    seconds = rng.choice(24, size=n, p=hour_w / hour_w.sum()) * 3600 + rng.integers(0, 3600, size=n)
    order = np.lexsort((seconds, day))
    day, seconds = day[order], seconds[order]
    # Each order's buyer is drawn by activity among the users registered by that day.
    registered = np.searchsorted(arrival, day, side="right")
    limit = activity_cum[registered - 1]
    user_idx = np.minimum(np.searchsorted(activity_cum, rng.random(n) * limit, side="right"), registered - 1)
    user_id = users["user_id"][user_idx]
    # A user's n-th order (1-based), counting every order placed, cancelled included.
    by_user = np.lexsort((np.arange(n), user_id))
    sorted_users = user_id[by_user]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_users)) + 1]
    group_start = np.repeat(starts, np.diff(np.r_[starts, n]))
    seq = np.empty(n, dtype=np.int64)
    seq[by_user] = np.arange(n) - group_start + 1
    # Channel shares drift from their 2024 to their 2025 mix (live streaming grows).
    t = day / (_DAYS - 1)
    share0 = np.array([c[3] for c in ref.CHANNELS])
    share1 = np.array([c[4] for c in ref.CHANNELS])
    shares = share0[None, :] * (1 - t[:, None]) + share1[None, :] * t[:, None]
    channel = _pick_rows(rng, shares)
    pay = np.array(ref.PAYMENT_BY_CHANNEL)[channel]
    payment = _pick_rows(rng, pay)
    city_w = np.array([ref.TIER_WEIGHTS[c[3]] for c in ref.CITIES]) * (0.6 + rng.random(len(ref.CITIES)))
    # A buyer mostly orders to one home city.
    home_city = rng.choice(len(ref.CITIES), size=len(users["user_id"]), p=city_w / city_w.sum())
    other_city = rng.choice(len(ref.CITIES), size=n, p=city_w / city_w.sum())
    city = np.where(rng.random(n) < 0.92, home_city[user_idx], other_city)
    cancel_p = np.array([c[5] for c in ref.CHANNELS])[channel]
    cancelled = rng.random(n) < cancel_p
    return {
        "order_id": np.arange(1, n + 1),
        "user_id": user_id,
        "day": day,
        "seconds": seconds,
        "channel_id": channel + 1,
        "city_id": city + 1,
        "payment_code": payment,
        "status_code": np.where(cancelled, 1, 0),
        "user_order_seq": seq,
    }


def _pick_rows(rng: np.random.Generator, probs: NDArray[np.float64]) -> NDArray[np.int64]:
    """One draw per row from that row's categorical distribution."""
    cum = np.cumsum(probs / probs.sum(axis=1, keepdims=True), axis=1)
    picked: NDArray[np.int64] = np.minimum((rng.random(len(probs))[:, None] > cum).sum(axis=1), probs.shape[1] - 1)
    return picked


def _is_promo(day: NDArray[np.int64]) -> NDArray[np.bool_]:
    dates = np.datetime64(DEMO_START) + day
    month = dates.astype("datetime64[M]").astype(int) % 12 + 1
    dom = (dates - dates.astype("datetime64[M]")).astype(int) + 1
    promo: NDArray[np.bool_] = (
        ((month == 6) & (dom <= 18)) | ((month == 11) & (dom <= 11)) | ((month == 12) & (dom == 12))
    )
    return promo


def _order_items(
    rng: np.random.Generator, orders: dict[str, NDArray[Any]], products: dict[str, NDArray[Any]]
) -> dict[str, NDArray[Any]]:
    n = len(orders["order_id"])
    count = np.minimum(rng.geometric(0.6, size=n), 6)
    order_pos = np.repeat(np.arange(n), count)
    m = len(order_pos)
    pop = products["_popularity"]
    product_idx = rng.choice(len(pop), size=m, p=pop / pop.sum())
    list_cents = products["list_price_cents"][product_idx]
    quantity = np.select([rng.random(m) < 0.8, rng.random(m) < 0.7], [1, 2], default=rng.integers(3, 6, size=m)).astype(
        np.int64
    )
    # Everyday markdowns of 0-10%; 10-30% during 618, Double 11 and Double 12.
    promo = _is_promo(orders["day"][order_pos])
    markdown = np.where(promo, 0.10 + 0.20 * rng.random(m), 0.10 * rng.random(m) ** 2)
    unit_cents = np.maximum(np.round(list_cents * (1 - markdown)), 1).astype(np.int64)
    return {
        "order_item_id": np.arange(1, m + 1),
        "order_id": orders["order_id"][order_pos],
        "_order_pos": order_pos,
        "product_id": products["product_id"][product_idx],
        "quantity": quantity,
        "list_price_cents": list_cents,
        "unit_price_cents": unit_cents,
        "discount_cents": (list_cents - unit_cents) * quantity,
        "line_cents": unit_cents * quantity,
    }


def _order_totals(rng: np.random.Generator, orders: dict[str, NDArray[Any]], items: dict[str, NDArray[Any]]) -> None:
    n = len(orders["order_id"])
    pos = items["_order_pos"]
    gross = np.bincount(pos, weights=items["list_price_cents"] * items["quantity"], minlength=n).astype(np.int64)
    line = np.bincount(pos, weights=items["line_cents"], minlength=n).astype(np.int64)
    markdown = gross - line
    coupon = np.where(rng.random(n) < 0.25, rng.choice([500, 1000, 2000, 5000], size=n), 0)
    coupon = np.minimum(coupon, (line * 0.3).astype(np.int64))
    offline = orders["channel_id"] == 5
    shipping = np.where((line - coupon >= 9900) | offline, 0, rng.choice([600, 800, 1000, 1200], size=n))
    orders["item_count"] = np.bincount(pos, weights=items["quantity"], minlength=n).astype(np.int64)
    orders["gross_cents"] = gross
    orders["discount_cents"] = markdown + coupon
    orders["shipping_cents"] = shipping
    orders["paid_cents"] = gross - markdown - coupon + shipping


def _refunds(
    rng: np.random.Generator,
    orders: dict[str, NDArray[Any]],
    items: dict[str, NDArray[Any]],
    products: dict[str, NDArray[Any]],
) -> dict[str, NDArray[Any]]:
    n = len(orders["order_id"])
    pos = items["_order_pos"]
    first_item = np.r_[0, np.flatnonzero(np.diff(pos)) + 1]
    category = products["category_id"][items["product_id"][first_item] - 1] - 1
    cat_p = np.array([c[4] for c in ref.CATEGORIES])[category]
    channel_factor = np.where(orders["channel_id"] == 4, 1.5, np.where(orders["channel_id"] == 5, 0.5, 1.0))
    eligible = orders["status_code"] == 0
    refunded = eligible & (rng.random(n) < cat_p * channel_factor)
    idx = np.flatnonzero(refunded)
    paid = orders["paid_cents"][idx]
    full = rng.random(len(idx)) < 0.55
    partial = np.minimum(items["line_cents"][first_item[idx]], paid)
    amount = np.where(full, paid, partial)
    delay = np.minimum(1 + rng.geometric(0.18, size=len(idx)), 45)
    refund_day = np.minimum(orders["day"][idx] + delay, _DAYS - 1)
    sized = np.isin(category[idx], [3, 4])
    reason_p = np.where(sized[:, None], np.array(ref.REASONS_SIZED)[None, :], np.array(ref.REASONS_OTHER)[None, :])
    reason = _pick_rows(rng, reason_p)
    orders["status_code"] = np.where(refunded, 2, orders["status_code"])
    return {
        "refund_id": np.arange(1, len(idx) + 1),
        "order_id": orders["order_id"][idx],
        "day": refund_day,
        "amount_cents": amount,
        "reason_code": reason,
    }


# ------------------------------------------------------------------------------------------------ loading


def _sql_list(values: tuple[str, ...]) -> str:
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def _load(con: duckdb.DuckDBPyConnection, frames: dict[str, dict[str, NDArray[Any]]]) -> None:
    for name, columns in frames.items():
        # DuckDB scans a dict of equal-length numpy arrays in place, like a data frame.
        con.register(f"src_{name}", {k: v for k, v in columns.items() if not k.startswith("_")})
    start = f"DATE '{DEMO_START.isoformat()}'"
    money = "CAST({0} AS DECIMAL(14, 0)) / 100"
    statements = [
        "CREATE TABLE regions AS SELECT CAST(region_id AS INTEGER) AS region_id, region_code, region_name, "
        "region_name_en FROM src_regions ORDER BY region_id",
        "CREATE TABLE cities AS SELECT CAST(city_id AS INTEGER) AS city_id, city_name, city_name_en, "
        "CAST(region_id AS INTEGER) AS region_id, tier FROM src_cities ORDER BY city_id",
        "CREATE TABLE categories AS SELECT CAST(category_id AS INTEGER) AS category_id, category_name, "
        "category_name_en FROM src_categories ORDER BY category_id",
        "CREATE TABLE channels AS SELECT CAST(channel_id AS INTEGER) AS channel_id, channel_code, channel_name, "
        "channel_name_en FROM src_channels ORDER BY channel_id",
        "CREATE TABLE products AS SELECT CAST(p.product_id AS INTEGER) AS product_id, "
        "p.brand || ' ' || c.category_name_en || ' ' || CAST(p.model_no AS VARCHAR) AS product_name, "
        "CAST(p.category_id AS INTEGER) AS category_id, p.brand, "
        f"CAST({money.format('p.list_price_cents')} AS DECIMAL(12, 2)) AS list_price "
        "FROM src_products p JOIN src_categories c USING (category_id) ORDER BY p.product_id",
        "CREATE TABLE users AS SELECT CAST(user_id AS BIGINT) AS user_id, "
        f"({_sql_list(tuple(g[0] for g in ref.GENDERS))})[gender_code + 1] AS gender, "
        f"({_sql_list(tuple(b[0] for b in ref.AGE_BANDS))})[age_band_code + 1] AS age_band, "
        f"CAST(birth_year AS INTEGER) AS birth_year, {start} + CAST(registered_day AS INTEGER) AS registered_date "
        "FROM src_users ORDER BY user_id",
        "CREATE TABLE orders AS SELECT CAST(order_id AS BIGINT) AS order_id, CAST(user_id AS BIGINT) AS user_id, "
        f"{start} + CAST(day AS INTEGER) AS order_date, "
        f"CAST({start} + CAST(day AS INTEGER) AS TIMESTAMP) + to_seconds(seconds) AS order_time, "
        "CAST(channel_id AS INTEGER) AS channel_id, CAST(city_id AS INTEGER) AS city_id, "
        f"({_sql_list(ref.PAYMENT_METHODS)})[payment_code + 1] AS payment_method, "
        f"({_sql_list(ref.STATUSES)})[status_code + 1] AS status, "
        "CAST(item_count AS INTEGER) AS item_count, "
        f"CAST({money.format('gross_cents')} AS DECIMAL(12, 2)) AS gross_amount, "
        f"CAST({money.format('discount_cents')} AS DECIMAL(12, 2)) AS discount_amount, "
        f"CAST({money.format('shipping_cents')} AS DECIMAL(12, 2)) AS shipping_fee, "
        f"CAST({money.format('paid_cents')} AS DECIMAL(12, 2)) AS paid_amount, "
        "CAST(user_order_seq AS INTEGER) AS user_order_seq FROM src_orders ORDER BY order_id",
        "CREATE TABLE order_items AS SELECT CAST(order_item_id AS BIGINT) AS order_item_id, "
        "CAST(order_id AS BIGINT) AS order_id, CAST(product_id AS INTEGER) AS product_id, "
        "CAST(quantity AS INTEGER) AS quantity, "
        f"CAST({money.format('unit_price_cents')} AS DECIMAL(12, 2)) AS unit_price, "
        f"CAST({money.format('discount_cents')} AS DECIMAL(12, 2)) AS discount_amount, "
        f"CAST({money.format('line_cents')} AS DECIMAL(12, 2)) AS line_amount "
        "FROM src_order_items ORDER BY order_item_id",
        "CREATE TABLE refunds AS SELECT CAST(refund_id AS BIGINT) AS refund_id, CAST(order_id AS BIGINT) AS order_id, "
        f"{start} + CAST(day AS INTEGER) AS refund_date, "
        f"CAST({money.format('amount_cents')} AS DECIMAL(12, 2)) AS refund_amount, "
        f"({_sql_list(ref.REFUND_REASONS)})[reason_code + 1] AS reason FROM src_refunds ORDER BY refund_id",
    ]
    con.execute("BEGIN")
    for statement in statements:
        con.execute(statement)
    con.execute("COMMIT")
    for name in frames:
        con.unregister(f"src_{name}")
