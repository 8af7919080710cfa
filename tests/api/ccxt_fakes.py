"""Loopback fakes of real exchanges for the ccxt mode: Binance spot and Kraken.

Each is a stdlib ``ThreadingHTTPServer`` on 127.0.0.1 port 0 (HTTPS with a given
``ssl.SSLContext``) that verifies what a real exchange verifies:

* Binance: ``X-MBX-APIKEY``, the HMAC-SHA256 ``signature`` of the query string and
  body (hex, keyed by the secret), ``timestamp`` within ``recvWindow`` of the
  server clock; order filters ``PRICE_FILTER`` (tick), ``LOT_SIZE`` (step, min,
  max) and ``NOTIONAL`` on ``POST /api/v3/order/test``.
* Kraken: ``API-Key``, ``API-Sign`` = base64 HMAC-SHA512 over the URL path and
  SHA-256(nonce + body), keyed by the base64-decoded secret; a nonce that does
  not increase is refused; ``ordermin``, ``costmin`` and the decimals of pair and
  lot on ``POST /0/private/AddOrder`` with ``validate=true``.

Both answer with the exchange's own error bodies (so ccxt maps them to its
classes), can answer 429/503 with ``Retry-After`` for the first N requests,
keep a clock offset, and count requests. A real order (Binance
``POST /api/v3/order``, Kraken ``AddOrder`` without ``validate``) is recorded in
``real_orders`` and answered with an error: tests assert it stays empty.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

BINANCE_KEY = "bnKEY-ccxt-7Q2W9E4R6T8Y"
BINANCE_SECRET = "bnSECRET-ccxt-A1S2D3F4G5H6"
KRAKEN_KEY = "krKEY-ccxt-Z9X8C7V6B5N4"
KRAKEN_SECRET = base64.b64encode(b"krSECRET-ccxt-raw-bytes-0042").decode()
#: every fragment that must never appear in any output of a run
LEAKS = [BINANCE_KEY, BINANCE_SECRET, KRAKEN_KEY, KRAKEN_SECRET, "7Q2W9E4R6T8Y", "A1S2D3F4G5H6"]


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: str
    body: str
    headers: dict[str, str]

    @property
    def params(self) -> dict[str, str]:
        return dict(parse_qsl(self.query)) | dict(parse_qsl(self.body))


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Request], Reply]


class FakeServer:
    """Routes ``(method, path)`` to handlers; counts and records every request."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.routes: dict[tuple[str, str], Handler] = {}
        self.seen: list[Request] = []
        self.time_offset_s = 0.0
        #: the next N requests (any path) answer this status with Retry-After
        self.throttle: tuple[int, int, str] | None = None  # (count, status, retry_after)
        self._lock = threading.Lock()
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                req = Request(
                    self.command,
                    parts.path,
                    parts.query,
                    body,
                    {k.lower(): v for k, v in self.headers.items()},
                )
                with server._lock:
                    server.seen.append(req)
                    throttle = server.throttle
                    if throttle is not None:
                        left, status, after = throttle
                        server.throttle = (left - 1, status, after) if left > 1 else None
                if throttle is not None:
                    reply = Reply(status, {"msg": "slow down"}, {"Retry-After": after})
                else:
                    handler = server.routes.get((self.command, parts.path))
                    reply = handler(req) if handler else Reply(404, {"msg": "no route"})
                data = b"" if reply.body is None else json.dumps(reply.body).encode()
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = _handle

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        scheme = "http" if tls is None else "https"
        self.url = f"{scheme}://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def now_ms(self) -> int:
        return int((time.time() + self.time_offset_s) * 1000)

    def count(self, path: str, method: str | None = None) -> int:
        with self._lock:
            return sum(
                1 for r in self.seen if r.path == path and (method is None or r.method == method)
            )

    @property
    def requests(self) -> int:
        with self._lock:
            return len(self.seen)

    def start(self) -> FakeServer:
        self.thread.start()
        return self

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


def _multiple_of(value: Decimal, step: Decimal) -> bool:
    return step == 0 or (value / step) == (value / step).to_integral_value()


# ---------------------------------------------------------------------------
# Binance spot
# ---------------------------------------------------------------------------

BINANCE_SYMBOLS = {
    # symbol: (base, quote, tickSize, stepSize, minQty, maxQty, minNotional, status)
    "BTCUSDT": ("BTC", "USDT", "0.01", "0.00001", "0.00001", "9000", "5", "TRADING"),
    "ETHUSDT": ("ETH", "USDT", "0.01", "0.0001", "0.0001", "9000", "5", "TRADING"),
    "OLDUSDT": ("OLD", "USDT", "0.01", "0.01", "0.01", "9000", "5", "BREAK"),
}


class BinanceFake(FakeServer):
    """Binance spot ``/api/v3``: ping, time, exchangeInfo, account, order/test."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        super().__init__(tls)
        self.real_orders: list[Request] = []
        self.test_orders: list[dict[str, str]] = []
        #: a filter the exchange applies without publishing it in exchangeInfo
        self.hidden_filter: str | None = None
        self.key, self.secret = BINANCE_KEY, BINANCE_SECRET
        r = self.routes
        r[("GET", "/api/v3/ping")] = lambda req: Reply(200, {})
        r[("GET", "/api/v3/time")] = lambda req: Reply(200, {"serverTime": self.now_ms()})
        r[("GET", "/api/v3/exchangeInfo")] = self._exchange_info
        r[("GET", "/api/v3/account")] = self._account
        r[("POST", "/api/v3/order/test")] = self._order_test
        r[("POST", "/api/v3/order")] = self._real_order

    def api_urls(self) -> dict[str, str]:
        """The ``urls`` of an exchange entry pointing ccxt's binance here."""
        base = f"{self.url}/api/v3"
        return {"public": base, "private": base}

    def _exchange_info(self, req: Request) -> Reply:
        symbols = []
        for sym, (base, quote, tick, step, lo, hi, notional, status) in BINANCE_SYMBOLS.items():
            symbols.append(
                {
                    "symbol": sym,
                    "status": status,
                    "baseAsset": base,
                    "baseAssetPrecision": 8,
                    "quoteAsset": quote,
                    "quotePrecision": 8,
                    "quoteAssetPrecision": 8,
                    "orderTypes": ["LIMIT", "MARKET"],
                    "isSpotTradingAllowed": True,
                    "isMarginTradingAllowed": False,
                    "permissions": ["SPOT"],
                    "permissionSets": [["SPOT"]],
                    "filters": [
                        {
                            "filterType": "PRICE_FILTER",
                            "minPrice": tick,
                            "maxPrice": "1000000",
                            "tickSize": tick,
                        },
                        {"filterType": "LOT_SIZE", "minQty": lo, "maxQty": hi, "stepSize": step},
                        {
                            "filterType": "NOTIONAL",
                            "minNotional": notional,
                            "applyMinToMarket": True,
                            "maxNotional": "9000000",
                            "applyMaxToMarket": False,
                        },
                    ],
                }
            )
        return Reply(
            200,
            {"timezone": "UTC", "serverTime": self.now_ms(), "rateLimits": [], "symbols": symbols},
            {"X-MBX-USED-WEIGHT-1M": "20"},
        )

    def _verify(self, req: Request) -> Reply | None:
        """The signed-endpoint checks; an error reply, or ``None`` when all hold."""
        if req.headers.get("x-mbx-apikey") != self.key:
            return Reply(401, {"code": -2015, "msg": "Invalid API-key, IP, or permissions."})
        total = req.query + req.body
        signed, _, signature = total.rpartition("&signature=")
        if not signature:
            return Reply(400, {"code": -1102, "msg": "Mandatory parameter 'signature'."})
        want = hmac.new(self.secret.encode(), signed.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(want, signature):
            return Reply(400, {"code": -1022, "msg": "Signature for this request is not valid."})
        params = req.params
        stamp = int(params.get("timestamp", "0"))
        window = int(params.get("recvWindow", "5000"))
        now = self.now_ms()
        if stamp > now + 1000 or now - stamp > window:
            return Reply(
                400,
                {"code": -1021, "msg": "Timestamp for this request is outside of the recvWindow."},
            )
        return None

    def _account(self, req: Request) -> Reply:
        error = self._verify(req)
        if error is not None:
            return error
        balances = [
            {"asset": "USDT", "free": "1000.0", "locked": "0.0"},
            {"asset": "BTC", "free": "0.01", "locked": "0.0"},
        ]
        return Reply(200, {"accountType": "SPOT", "canTrade": True, "balances": balances})

    def _order_test(self, req: Request) -> Reply:
        error = self._verify(req)
        if error is not None:
            return error
        p = req.params
        spec = BINANCE_SYMBOLS.get(p.get("symbol", ""))
        if spec is None:
            return Reply(400, {"code": -1121, "msg": "Invalid symbol."})
        _, _, tick, step, lo, hi, notional, _ = spec
        qty = Decimal(p.get("quantity", "0"))
        price = Decimal(p.get("price", "0"))
        if p.get("type") == "LIMIT" and not _multiple_of(price, Decimal(tick)):
            return Reply(400, {"code": -1013, "msg": "Filter failure: PRICE_FILTER"})
        if qty < Decimal(lo) or qty > Decimal(hi) or not _multiple_of(qty, Decimal(step)):
            return Reply(400, {"code": -1013, "msg": "Filter failure: LOT_SIZE"})
        if p.get("type") == "LIMIT" and qty * price < Decimal(notional):
            return Reply(400, {"code": -1013, "msg": "Filter failure: NOTIONAL"})
        if self.hidden_filter is not None:
            return Reply(400, {"code": -1013, "msg": f"Filter failure: {self.hidden_filter}"})
        self.test_orders.append(p)
        return Reply(200, {})

    def _real_order(self, req: Request) -> Reply:
        self.real_orders.append(req)
        return Reply(400, {"code": -9999, "msg": "the fake refuses real orders"})


# ---------------------------------------------------------------------------
# Kraken
# ---------------------------------------------------------------------------

KRAKEN_PAIRS = {
    # altname: (wsname, base, quote, pair_decimals, lot_decimals, ordermin, costmin)
    "XBTUSD": ("XBT/USD", "XXBT", "ZUSD", 1, 8, "0.0001", "0.5"),
    "ETHUSD": ("ETH/USD", "XETH", "ZUSD", 2, 8, "0.002", "0.5"),
}

#: Kraken's pair ids (what ccxt sends as ``pair``) -> altname, and back
_PAIR_IDS = {"XBTUSD": "XXBTZUSD", "ETHUSD": "XETHZUSD"}
_ALTNAMES = {v: k for k, v in _PAIR_IDS.items()}


class KrakenFake(FakeServer):
    """Kraken ``/0/public`` and ``/0/private``: status, time, pairs, balance, AddOrder."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        super().__init__(tls)
        self.real_orders: list[Request] = []
        self.test_orders: list[dict[str, str]] = []
        self.key, self.secret = KRAKEN_KEY, KRAKEN_SECRET
        self.last_nonce = 0
        r = self.routes
        r[("GET", "/0/public/SystemStatus")] = lambda req: self._ok(
            {"status": "online", "timestamp": "2026-11-29T00:00:00Z"}
        )
        r[("GET", "/0/public/Time")] = lambda req: self._ok(
            {"unixtime": self.now_ms() // 1000, "rfc1123": "Sun, 29 Nov 26 00:00:00 +0000"}
        )
        r[("GET", "/0/public/AssetPairs")] = self._pairs
        r[("GET", "/0/public/Assets")] = self._assets
        r[("POST", "/0/private/BalanceEx")] = self._balance
        r[("POST", "/0/private/AddOrder")] = self._add_order

    def api_urls(self) -> dict[str, str]:
        return {"public": self.url, "private": self.url}

    @staticmethod
    def _ok(result: Any) -> Reply:
        return Reply(200, {"error": [], "result": result})

    @staticmethod
    def _error(text: str) -> Reply:
        return Reply(200, {"error": [text]})

    def _pairs(self, req: Request) -> Reply:
        out = {}
        for alt, (ws, base, quote, pair_dec, lot_dec, ordermin, costmin) in KRAKEN_PAIRS.items():
            out[_PAIR_IDS[alt]] = {
                "altname": alt,
                "wsname": ws,
                "aclass_base": "currency",
                "base": base,
                "aclass_quote": "currency",
                "quote": quote,
                "lot": "unit",
                "cost_decimals": 5,
                "pair_decimals": pair_dec,
                "lot_decimals": lot_dec,
                "lot_multiplier": 1,
                "leverage_buy": [],
                "leverage_sell": [],
                "fees": [[0, 0.26]],
                "fees_maker": [[0, 0.16]],
                "fee_volume_currency": "ZUSD",
                "margin_call": 80,
                "margin_stop": 40,
                "ordermin": ordermin,
                "costmin": costmin,
                "tick_size": str(Decimal(1).scaleb(-pair_dec)),
                "status": "online",
            }
        return self._ok(out)

    def _assets(self, req: Request) -> Reply:
        def asset(alt: str) -> dict[str, Any]:
            return {
                "aclass": "currency",
                "altname": alt,
                "decimals": 10,
                "display_decimals": 5,
                "status": "enabled",
            }

        return self._ok({"XXBT": asset("XBT"), "XETH": asset("ETH"), "ZUSD": asset("USD")})

    def _verify(self, req: Request) -> Reply | None:
        if req.headers.get("api-key") != self.key:
            return self._error("EAPI:Invalid key")
        nonce = int(req.params.get("nonce", "0"))
        sha = hashlib.sha256((str(nonce) + req.body).encode()).digest()
        want = base64.b64encode(
            hmac.new(
                base64.b64decode(self.secret), req.path.encode() + sha, hashlib.sha512
            ).digest()
        ).decode()
        if not hmac.compare_digest(want, req.headers.get("api-sign", "")):
            return self._error("EAPI:Invalid key")
        if nonce <= self.last_nonce:
            return self._error("EAPI:Invalid nonce")
        self.last_nonce = nonce
        return None

    def _balance(self, req: Request) -> Reply:
        error = self._verify(req)
        return error or self._ok(
            {
                "ZUSD": {"balance": "1000.0000", "hold_trade": "0.0000"},
                "XXBT": {"balance": "0.0100000000", "hold_trade": "0.0000000000"},
            }
        )

    def _add_order(self, req: Request) -> Reply:
        error = self._verify(req)
        if error is not None:
            return error
        p = req.params
        if p.get("validate") != "true":
            self.real_orders.append(req)
            return self._error("EGeneral:the fake refuses real orders")
        pair = p.get("pair", "")
        spec = KRAKEN_PAIRS.get(pair) or KRAKEN_PAIRS.get(_ALTNAMES.get(pair, ""))
        if spec is None:
            return self._error("EQuery:Unknown asset pair")
        _, _, _, pair_dec, lot_dec, ordermin, costmin = spec
        volume = Decimal(p.get("volume", "0"))
        price = Decimal(p.get("price", "0"))
        if volume != round(volume, lot_dec) or (price and price != round(price, pair_dec)):
            return self._error("EGeneral:Invalid arguments:volume")
        if volume < Decimal(ordermin):
            return self._error("EOrder:Order minimum not met")
        if p.get("ordertype") == "limit" and volume * price < Decimal(costmin):
            return self._error("EOrder:Cost minimum not met")
        self.test_orders.append(p)
        return self._ok({"descr": {"order": f"{p.get('type')} {volume} {p.get('pair')}"}})
