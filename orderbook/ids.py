"""Upstream (Torq Protocol V2) identifiers: venues, asset types, message
sources, relay domains, and the 12-byte ``InstrumentId``.

Numbers are upstream's (``libs/types/src/protocol/identifiers/instrument/``
and ``libs/types/src/protocol/constants.rs``).  Member names are upstream's
CamelCase names in UPPER_SNAKE_CASE: a new word starts at a capital that
follows a lower-case letter or a digit (``BinanceSmartChain`` →
``BINANCE_SMART_CHAIN``, ``UniswapV3Arbitrum`` → ``UNISWAP_V3_ARBITRUM``) and
at the last capital of an acronym followed by a lower-case letter
(``LPToken`` → ``LP_TOKEN``, ``MakerDAO`` → ``MAKER_DAO``); acronyms stay
whole (``NFT``, ``ETF``, ``COMEX``).  Three brand names whose inner capitals
are not word starts are kept as one word: ``OKEx`` → ``OKEX``, ``KuCoin`` →
``KUCOIN``, ``DYdX`` → ``DYDX``.  Every member's ``upstream_name`` is
upstream's own spelling, used for display.

Pure Python, no dependencies: importable without the compiled extensions.
"""

from __future__ import annotations

import operator
from enum import IntEnum
from typing import TYPE_CHECKING, Any, Dict, Iterable, NamedTuple, Optional, Type, TypeVar

from orderbook.errors import FieldRangeError, FieldTypeError, IdentifierError

__all__ = [
    "VenueId",
    "AssetType",
    "SourceType",
    "RelayDomain",
    "InstrumentId",
    "venue_name",
    "asset_type_name",
    "source_name",
    "relay_domain_name",
    "describe_instrument",
]

_E = TypeVar("_E", bound="_UpstreamEnum")


class _UpstreamEnum(IntEnum):
    """An IntEnum whose members also carry upstream's spelling."""

    _value_: int
    upstream_name: str

    if not TYPE_CHECKING:
        # Hidden from type checkers, which would take it for the call signature
        # and refuse VenueId(100): members are defined as (value, name) pairs.
        def __new__(cls, value, upstream_name):
            member = int.__new__(cls, value)
            member._value_ = value
            member.upstream_name = upstream_name
            return member


class VenueId(_UpstreamEnum):
    """Upstream ``VenueId`` (u16): exchanges, blockchains, DeFi protocols."""

    GENERIC = 0, "Generic"
    # Traditional exchanges (1-99)
    NYSE = 1, "NYSE"
    NASDAQ = 2, "NASDAQ"
    LSE = 3, "LSE"
    TSE = 4, "TSE"
    HKEX = 5, "HKEX"
    # Centralized crypto exchanges (100-199)
    BINANCE = 100, "Binance"
    KRAKEN = 101, "Kraken"
    COINBASE = 102, "Coinbase"
    HUOBI = 103, "Huobi"
    OKEX = 104, "OKEx"
    FTX = 105, "FTX"
    BYBIT = 106, "Bybit"
    KUCOIN = 107, "KuCoin"
    GEMINI = 108, "Gemini"
    # Layer 1 blockchains (200-299)
    ETHEREUM = 200, "Ethereum"
    BITCOIN = 201, "Bitcoin"
    POLYGON = 202, "Polygon"
    BINANCE_SMART_CHAIN = 203, "BinanceSmartChain"
    AVALANCHE = 204, "Avalanche"
    FANTOM = 205, "Fantom"
    ARBITRUM = 206, "Arbitrum"
    OPTIMISM = 207, "Optimism"
    SOLANA = 208, "Solana"
    CARDANO = 209, "Cardano"
    POLKADOT = 210, "Polkadot"
    COSMOS = 211, "Cosmos"
    # DeFi on Ethereum (300-399)
    UNISWAP_V2 = 300, "UniswapV2"
    UNISWAP_V3 = 301, "UniswapV3"
    SUSHI_SWAP = 302, "SushiSwap"
    CURVE = 303, "Curve"
    BALANCER = 304, "Balancer"
    AAVE = 305, "Aave"
    COMPOUND = 306, "Compound"
    MAKER_DAO = 307, "MakerDAO"
    YEARN = 308, "Yearn"
    SYNTHETIX = 309, "Synthetix"
    DYDX = 310, "DYdX"
    # DeFi on Polygon (400-499)
    QUICK_SWAP = 400, "QuickSwap"
    SUSHI_SWAP_POLYGON = 401, "SushiSwapPolygon"
    CURVE_POLYGON = 402, "CurvePolygon"
    AAVE_POLYGON = 403, "AavePolygon"
    BALANCER_POLYGON = 404, "BalancerPolygon"
    # DeFi on BSC (500-599)
    PANCAKE_SWAP = 500, "PancakeSwap"
    VENUS_PROTOCOL = 501, "VenusProtocol"
    # DeFi on Arbitrum (600-699)
    UNISWAP_V3_ARBITRUM = 600, "UniswapV3Arbitrum"
    SUSHI_SWAP_ARBITRUM = 601, "SushiSwapArbitrum"
    CURVE_ARBITRUM = 602, "CurveArbitrum"
    # Options and derivatives (700-799)
    DERIBIT = 700, "Deribit"
    BYBIT_DERIVATIVES = 701, "BybitDerivatives"
    OPYN_PROTOCOL = 702, "OpynProtocol"
    HEGIC = 703, "Hegic"
    # Commodities and forex (800-899)
    COMEX = 800, "COMEX"
    CME = 801, "CME"
    ICE = 802, "ICE"
    FOREX_COM = 803, "ForexCom"
    # Test / development (65000+)
    TEST_VENUE = 65000, "TestVenue"
    MOCK_EXCHANGE = 65001, "MockExchange"


class AssetType(_UpstreamEnum):
    """Upstream ``AssetType`` (u8)."""

    # Traditional assets (1-49)
    STOCK = 1, "Stock"
    BOND = 2, "Bond"
    ETF = 3, "ETF"
    COMMODITY = 4, "Commodity"
    CURRENCY = 5, "Currency"
    INDEX = 6, "Index"
    # Crypto assets (50-99)
    TOKEN = 50, "Token"
    COIN = 51, "Coin"
    NFT = 52, "NFT"
    STABLE_COIN = 53, "StableCoin"
    WRAPPED_TOKEN = 54, "WrappedToken"
    # DeFi instruments (100-149)
    POOL = 100, "Pool"
    LP_TOKEN = 101, "LPToken"
    YIELD_TOKEN = 102, "YieldToken"
    SYNTHETIC_ASSET = 103, "SyntheticAsset"
    DERIVATIVE_TOKEN = 104, "DerivativeToken"
    GOVERNANCE_TOKEN = 105, "GovernanceToken"
    # Derivatives (150-199)
    OPTION = 150, "Option"
    FUTURE = 151, "Future"
    SWAP = 152, "Swap"
    FORWARD = 153, "Forward"
    CDS = 154, "CDS"
    # Structured products (200-249)
    STRUCTURED_NOTE = 200, "StructuredNote"
    CONVERTIBLE_BOND = 201, "ConvertibleBond"
    # Test / development (250-255)
    TEST_ASSET = 250, "TestAsset"
    MOCK_ASSET = 251, "MockAsset"


class SourceType(_UpstreamEnum):
    """Upstream ``SourceType`` (u8): the service in a message header's ``source``."""

    UNKNOWN = 0, "Unknown"
    BINANCE_COLLECTOR = 1, "BinanceCollector"
    COINBASE_COLLECTOR = 2, "CoinbaseCollector"
    KRAKEN_COLLECTOR = 3, "KrakenCollector"
    POLYGON_COLLECTOR = 4, "PolygonCollector"
    GEMINI_COLLECTOR = 5, "GeminiCollector"
    ARBITRAGE_STRATEGY = 10, "ArbitrageStrategy"
    STATE_MANAGER = 15, "StateManager"
    EXECUTION_ENGINE = 20, "ExecutionEngine"
    DASHBOARD = 30, "Dashboard"
    TEST_CLIENT = 99, "TestClient"


class RelayDomain(_UpstreamEnum):
    """Upstream ``RelayDomain`` (u8): a message header's ``relay_domain``."""

    MARKET_DATA = 0, "MarketData"
    SIGNAL = 1, "Signal"
    EXECUTION = 2, "Execution"
    SYSTEM = 3, "System"


_VENUES: Dict[int, VenueId] = {int(m): m for m in VenueId}
_ASSET_TYPES: Dict[int, AssetType] = {int(m): m for m in AssetType}
_SOURCES: Dict[int, SourceType] = {int(m): m for m in SourceType}
_DOMAINS: Dict[int, RelayDomain] = {int(m): m for m in RelayDomain}


def _name(table: Dict[int, Any], n: int) -> str:
    member = table.get(n)
    return str(n) if member is None else str(member.upstream_name)


def venue_name(n: int) -> str:
    """Upstream's name of venue ``n`` (``"Binance"``), else ``n`` as text."""
    return _name(_VENUES, n)


def asset_type_name(n: int) -> str:
    """Upstream's name of asset type ``n`` (``"Coin"``), else ``n`` as text."""
    return _name(_ASSET_TYPES, n)


def source_name(n: int) -> str:
    """Upstream's name of header source ``n`` (``"BinanceCollector"``), else ``n`` as text."""
    return _name(_SOURCES, n)


def relay_domain_name(n: int) -> str:
    """Upstream's name of relay domain ``n`` (``"MarketData"``), else ``n`` as text."""
    return _name(_DOMAINS, n)


def _symbol_of(asset_id: int) -> Optional[str]:
    """The text packed by ``symbol_to_u64`` when it is printable ASCII
    followed only by zero bytes, else None."""
    if not 0 < asset_id < 1 << 64:
        return None
    raw = asset_id.to_bytes(8, "big").rstrip(b"\0")
    if all(0x20 <= b < 0x7F for b in raw):
        return raw.decode("ascii")
    return None


def describe_instrument(asset_id: int, venue: int, asset_type: int, reserved: int = 0) -> str:
    """A short human name: ``"Binance Coin BTCUSDT"``, ``"Ethereum Token
    0xa0b86991c6218b36"``, ``"venue 999 asset_type 77 0x00000000000004d2"``.

    Venue, then asset type (upstream's names; ``venue N`` / ``asset_type N``
    when unknown), then the asset: its symbol when ``asset_id`` packs printable
    ASCII (never for tokens, whose id is an address prefix), else 16 hex digits.
    A nonzero ``reserved`` is appended as ``reserved N``.  Never raises for ints."""
    v = _VENUES.get(venue)
    t = _ASSET_TYPES.get(asset_type)
    symbol = None if asset_type == AssetType.TOKEN else _symbol_of(asset_id)
    parts = [
        f"venue {venue}" if v is None else v.upstream_name,
        f"asset_type {asset_type}" if t is None else t.upstream_name,
        symbol if symbol is not None else f"0x{asset_id:016x}",
    ]
    if reserved:
        parts.append(f"reserved {reserved}")
    return " ".join(parts)


def _uint(value: Any, field: str, bits: int) -> int:
    if isinstance(value, bool):
        raise FieldTypeError(f"{field} must be an integer, got bool {value!r}")
    try:
        n = operator.index(value)
    except TypeError:
        raise FieldTypeError(
            f"{field} must be an integer, got {type(value).__name__} {value!r}") from None
    if not 0 <= n < 1 << bits:
        raise FieldRangeError(f"{field} must be in 0..{(1 << bits) - 1}, got {n}")
    return int(n)


def _symbol_to_u64(symbol: Any) -> int:
    """Upstream's ``symbol_to_u64``: the first 8 bytes of the UTF-8, zero
    padded, read big-endian (longer symbols are truncated)."""
    if not isinstance(symbol, str):
        raise FieldTypeError(f"symbol must be a str, got {type(symbol).__name__} {symbol!r}")
    try:
        raw = symbol.encode("utf-8")
    except UnicodeEncodeError as e:
        raise IdentifierError(f"symbol {symbol!r} is not encodable as UTF-8: {e.reason}") from None
    return int.from_bytes(raw[:8].ljust(8, b"\0"), "big")


_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_ADDRESS_RULE = "token address must be 40 hex digits after an optional '0x'"


def _address_to_u64(address: Any) -> int:
    """The first 8 bytes of a 20-byte EVM address, read big-endian."""
    if not isinstance(address, str):
        raise FieldTypeError(
            f"token address must be a str, got {type(address).__name__} {address!r}")
    start = 2 if address.startswith("0x") else 0
    digits = len(address) - start
    if digits != 40:
        hint = " (the prefix must be lower-case '0x')" if address[:2] == "0X" else ""
        raise IdentifierError(f"{_ADDRESS_RULE}, got {digits} characters{hint}: {address!r}")
    for i in range(start, len(address)):
        if address[i] not in _HEX_DIGITS:
            raise IdentifierError(
                f"{_ADDRESS_RULE}, got non-hex {address[i]!r} at index {i}: {address!r}")
    return int(address[start:start + 16], 16)


class _Fields(NamedTuple):
    asset_id: int
    venue: int
    asset_type: int
    reserved: int


class InstrumentId(_Fields):
    """Upstream's 12-byte ``InstrumentId``: ``asset_id`` (u64), ``venue``
    (u16), ``asset_type`` (u8), ``reserved`` (u8).  An immutable tuple, equal
    to the plain tuple of its numbers.

    Fields are range-checked (``FieldTypeError`` for a non-integer,
    ``FieldRangeError`` out of range); ``venue`` and ``asset_type`` are stored
    as the ``VenueId`` / ``AssetType`` member when upstream names the number,
    else as the plain int."""

    __slots__ = ()

    def __new__(cls, asset_id: int, venue: int, asset_type: int, reserved: int = 0) -> InstrumentId:
        v = _uint(venue, "venue", 16)
        t = _uint(asset_type, "asset_type", 8)
        return super().__new__(
            cls,
            _uint(asset_id, "asset_id", 64),
            _VENUES.get(v, v),
            _ASSET_TYPES.get(t, t),
            _uint(reserved, "reserved", 8),
        )

    @classmethod
    def _make(cls, iterable: Iterable[Any]) -> InstrumentId:  # type: ignore[override]
        # Checked, like the constructor; _replace goes through here too.
        return cls(*iterable)

    # Symbol-based constructors (upstream: stock / bond / coin).  A symbol
    # longer than 8 UTF-8 bytes keeps its first 8 bytes, as upstream.

    @classmethod
    def coin(cls, venue: int, symbol: str) -> InstrumentId:
        """A coin on ``venue``: ``asset_id`` packs the symbol's first 8 UTF-8
        bytes big-endian, zero padded (``"BTCUSDT"`` → ``b"BTCUSDT\\0"``)."""
        return cls(_symbol_to_u64(symbol), venue, AssetType.COIN)

    @classmethod
    def stock(cls, venue: int, symbol: str) -> InstrumentId:
        """A stock on ``venue``, ``asset_id`` packed from ``symbol`` as in ``coin``."""
        return cls(_symbol_to_u64(symbol), venue, AssetType.STOCK)

    @classmethod
    def bond(cls, venue: int, symbol: str) -> InstrumentId:
        """A bond on ``venue``, ``asset_id`` packed from ``symbol`` as in ``coin``."""
        return cls(_symbol_to_u64(symbol), venue, AssetType.BOND)

    # EVM token constructors: 40 hex digits (either case) after an optional
    # lower-case "0x"; asset_id is the address's first 8 bytes, big-endian.
    # Anything else raises IdentifierError (upstream checks the length and
    # only the 16 digits it uses; every digit is checked here).

    @classmethod
    def ethereum_token(cls, address: str) -> InstrumentId:
        """An ERC-20 token on Ethereum, from its contract address."""
        return cls(_address_to_u64(address), VenueId.ETHEREUM, AssetType.TOKEN)

    @classmethod
    def polygon_token(cls, address: str) -> InstrumentId:
        """A token on Polygon, from its contract address."""
        return cls(_address_to_u64(address), VenueId.POLYGON, AssetType.TOKEN)

    @classmethod
    def bsc_token(cls, address: str) -> InstrumentId:
        """A token on BinanceSmartChain, from its contract address."""
        return cls(_address_to_u64(address), VenueId.BINANCE_SMART_CHAIN, AssetType.TOKEN)

    @classmethod
    def arbitrum_token(cls, address: str) -> InstrumentId:
        """A token on Arbitrum, from its contract address."""
        return cls(_address_to_u64(address), VenueId.ARBITRUM, AssetType.TOKEN)

    @property
    def symbol(self) -> Optional[str]:
        """The symbol packed in ``asset_id`` when it is printable ASCII
        followed only by zero bytes (``"BTCUSDT"``), else None."""
        return _symbol_of(self.asset_id)

    @property
    def venue_name(self) -> str:
        """Upstream's name of the venue, or its number as text."""
        return venue_name(self.venue)

    @property
    def asset_type_name(self) -> str:
        """Upstream's name of the asset type, or its number as text."""
        return asset_type_name(self.asset_type)

    def describe(self) -> str:
        """A short human name, e.g. ``"Binance Coin BTCUSDT"`` (see
        ``describe_instrument``)."""
        return describe_instrument(self.asset_id, self.venue, self.asset_type, self.reserved)

    def __str__(self) -> str:
        return self.describe()

    def __repr__(self) -> str:
        def show(n: int) -> str:
            return f"{type(n).__name__}.{n.name}" if isinstance(n, IntEnum) else str(n)

        return (f"InstrumentId(asset_id=0x{self.asset_id:016x}, venue={show(self.venue)}, "
                f"asset_type={show(self.asset_type)}, reserved={self.reserved})")
