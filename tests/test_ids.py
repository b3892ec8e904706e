"""orderbook.ids: upstream numbers, the member-name rule, InstrumentId
construction exactly as upstream's, its checks and its human names."""

from __future__ import annotations

import copy
import pickle
import re
import subprocess
import sys
from pathlib import Path

import pytest

from orderbook.errors import FieldRangeError, FieldTypeError, IdentifierError, OrderBookError
from orderbook.ids import (
    AssetType,
    InstrumentId,
    RelayDomain,
    SourceType,
    VenueId,
    asset_type_name,
    describe_instrument,
    relay_domain_name,
    source_name,
    venue_name,
)

# The tables of SPEC.md "Upstream identifiers", copied from its text.
SPEC_VENUES = """
Generic 0, NYSE 1, NASDAQ 2, LSE 3, TSE 4, HKEX 5, Binance 100, Kraken 101,
Coinbase 102, Huobi 103, OKEx 104, FTX 105, Bybit 106, KuCoin 107, Gemini 108, Ethereum 200,
Bitcoin 201, Polygon 202, BinanceSmartChain 203, Avalanche 204, Fantom 205, Arbitrum 206,
Optimism 207, Solana 208, Cardano 209, Polkadot 210, Cosmos 211, UniswapV2 300, UniswapV3 301,
SushiSwap 302, Curve 303, Balancer 304, Aave 305, Compound 306, MakerDAO 307, Yearn 308,
Synthetix 309, DYdX 310, QuickSwap 400, SushiSwapPolygon 401, CurvePolygon 402,
AavePolygon 403, BalancerPolygon 404, PancakeSwap 500, VenusProtocol 501,
UniswapV3Arbitrum 600, SushiSwapArbitrum 601, CurveArbitrum 602, Deribit 700,
BybitDerivatives 701, OpynProtocol 702, Hegic 703, COMEX 800, CME 801, ICE 802,
ForexCom 803, TestVenue 65000, MockExchange 65001
"""
SPEC_ASSET_TYPES = """
Stock 1, Bond 2, ETF 3, Commodity 4, Currency 5, Index 6, Token 50, Coin 51,
NFT 52, StableCoin 53, WrappedToken 54, Pool 100, LPToken 101, YieldToken 102,
SyntheticAsset 103, DerivativeToken 104, GovernanceToken 105, Option 150
"""
# Upstream's AssetType (identifiers/instrument/venues.rs) goes on past Option 150.
UPSTREAM_EXTRA_ASSET_TYPES = """
Future 151, Swap 152, Forward 153, CDS 154, StructuredNote 200, ConvertibleBond 201,
TestAsset 250, MockAsset 251
"""
SPEC_RELAY_DOMAINS = "MarketData 0, Signal 1, Execution 2, System 3"
SPEC_SOURCES = """
Unknown 0, BinanceCollector 1, CoinbaseCollector 2,
KrakenCollector 3, PolygonCollector 4, GeminiCollector 5, ArbitrageStrategy 10,
StateManager 15, ExecutionEngine 20, Dashboard 30, TestClient 99
"""


def table(text: str) -> dict[str, int]:
    pairs = (item.split() for item in text.replace("\n", " ").split(","))
    return {name: int(number) for name, number in pairs}


ENUMS = [
    (VenueId, table(SPEC_VENUES)),
    (AssetType, {**table(SPEC_ASSET_TYPES), **table(UPSTREAM_EXTRA_ASSET_TYPES)}),
    (RelayDomain, table(SPEC_RELAY_DOMAINS)),
    (SourceType, table(SPEC_SOURCES)),
]
WHOLE_WORDS = {"OKEx", "KuCoin", "DYdX"}  # brand names kept as one word


def upper_snake(camel: str) -> str:
    """The documented member-name rule, written independently of ids.py."""
    if camel in WHOLE_WORDS:
        return camel.upper()
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", camel)
    return words.upper()


@pytest.mark.parametrize("enum, expected", ENUMS, ids=[e.__name__ for e, _ in ENUMS])
def test_enum_numbers_and_names(enum, expected):
    assert {m.upstream_name: int(m) for m in enum} == expected
    for m in enum:
        assert m.name == upper_snake(m.upstream_name)
        assert enum(int(m)) is m
        assert enum[m.name] is m


def test_name_rule_examples():
    cases = {
        "BinanceSmartChain": "BINANCE_SMART_CHAIN", "UniswapV3Arbitrum": "UNISWAP_V3_ARBITRUM",
        "LPToken": "LP_TOKEN", "NFT": "NFT", "ETF": "ETF", "OKEx": "OKEX", "DYdX": "DYDX",
        "KuCoin": "KUCOIN", "ForexCom": "FOREX_COM", "MakerDAO": "MAKER_DAO", "COMEX": "COMEX",
    }
    assert {c: upper_snake(c) for c in cases} == cases
    assert VenueId.BINANCE_SMART_CHAIN.upstream_name == "BinanceSmartChain"
    assert VenueId.KUCOIN.upstream_name == "KuCoin"
    assert AssetType.LP_TOKEN == 101


def test_spec_venue_table_is_complete():
    assert len(VenueId) == len(table(SPEC_VENUES)) == 58


def test_name_helpers():
    assert venue_name(100) == "Binance"
    assert venue_name(VenueId.BINANCE_SMART_CHAIN) == "BinanceSmartChain"
    assert venue_name(137) == "137"
    assert asset_type_name(51) == "Coin"
    assert asset_type_name(7) == "7"
    assert source_name(1) == "BinanceCollector"
    assert source_name(6) == "6"
    assert relay_domain_name(0) == "MarketData"
    assert relay_domain_name(4) == "4"


# --- symbols -------------------------------------------------------------------

@pytest.mark.parametrize("make, kind", [
    (InstrumentId.coin, AssetType.COIN),
    (InstrumentId.stock, AssetType.STOCK),
    (InstrumentId.bond, AssetType.BOND),
])
def test_symbol_constructors(make, kind):
    iid = make(VenueId.BINANCE, "BTCUSDT")
    assert iid == (int.from_bytes(b"BTCUSDT\0", "big"), 100, int(kind), 0)
    assert iid.asset_type is kind
    assert make(100, "BTCUSDT") == iid  # a plain int venue


def test_coin_btcusdt():
    iid = InstrumentId.coin(VenueId.BINANCE, "BTCUSDT")
    assert iid == (int.from_bytes(b"BTCUSDT\0", "big"), 100, 51, 0)
    assert iid.asset_id == 0x4254435553445400
    assert (iid.venue, iid.asset_type, iid.reserved) == (VenueId.BINANCE, AssetType.COIN, 0)
    assert iid.symbol == "BTCUSDT"


def test_long_symbol_keeps_first_8_bytes():
    iid = InstrumentId.stock(VenueId.NASDAQ, "VERYLONGSYMBOL")
    assert iid.asset_id == int.from_bytes(b"VERYLONG", "big")
    assert iid.symbol == "VERYLONG"
    assert iid == InstrumentId.stock(VenueId.NASDAQ, "VERYLONG")


def test_utf8_symbol():
    iid = InstrumentId.coin(VenueId.KRAKEN, "€UR")  # 3 + 2 bytes
    assert iid.asset_id == int.from_bytes("€UR".encode() + b"\0\0\0", "big")
    assert iid.symbol is None  # not ASCII
    # Truncation counts bytes, and may cut a character in two, as upstream does.
    cut = InstrumentId.coin(VenueId.KRAKEN, "ABCDEFG€")
    assert cut.asset_id == int.from_bytes(b"ABCDEFG\xe2", "big")


def test_empty_symbol():
    assert InstrumentId.coin(VenueId.BINANCE, "").asset_id == 0
    assert InstrumentId.coin(VenueId.BINANCE, "").symbol is None


@pytest.mark.parametrize("asset_id, symbol", [
    (int.from_bytes(b"AAPL\0\0\0\0", "big"), "AAPL"),
    (int.from_bytes(b"BTC USD\0", "big"), "BTC USD"),
    (int.from_bytes(b"12345678", "big"), "12345678"),
    (0, None),
    (int.from_bytes(b"AB\0CD\0\0\0", "big"), None),  # text after a zero byte
    (int.from_bytes(b"\0ABC\0\0\0\0", "big"), None),
    (int.from_bytes(b"AB\x7f\0\0\0\0\0", "big"), None),
    (0xA0B86991C6218B36, None),
])
def test_symbol_property(asset_id, symbol):
    assert InstrumentId(asset_id, 100, 51).symbol == symbol


def test_symbol_errors():
    with pytest.raises(FieldTypeError, match=r"^symbol must be a str, got bytes b'BTC'$"):
        InstrumentId.coin(VenueId.BINANCE, b"BTC")  # type: ignore[arg-type]
    with pytest.raises(IdentifierError, match=r"^symbol '\\ud800' is not encodable as UTF-8"):
        InstrumentId.coin(VenueId.BINANCE, "\ud800")
    with pytest.raises(FieldRangeError, match=r"^venue must be in 0\.\.65535, got 65536$"):
        InstrumentId.coin(65536, "BTC")


# --- EVM tokens ----------------------------------------------------------------

USDC = "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48"
TOKENS = [
    (InstrumentId.ethereum_token, VenueId.ETHEREUM),
    (InstrumentId.polygon_token, VenueId.POLYGON),
    (InstrumentId.bsc_token, VenueId.BINANCE_SMART_CHAIN),
    (InstrumentId.arbitrum_token, VenueId.ARBITRUM),
]


@pytest.mark.parametrize("make, venue", TOKENS)
@pytest.mark.parametrize("address", [USDC, USDC[2:], USDC.upper().replace("0X", "0x"),
                                     USDC[2:].upper(), "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"])
def test_tokens(make, venue, address):
    iid = make(address)
    assert iid == (0xA0B86991C6218B36, int(venue), 50, 0)
    assert iid.venue is venue and iid.asset_type is AssetType.TOKEN


RULE = "token address must be 40 hex digits after an optional '0x'"


@pytest.mark.parametrize("make, venue", TOKENS)
@pytest.mark.parametrize("address, message", [
    ("0xa0b8", f"{RULE}, got 4 characters: '0xa0b8'"),
    ("", f"{RULE}, got 0 characters: ''"),
    ("0x", f"{RULE}, got 0 characters: '0x'"),
    (USDC + "00", f"{RULE}, got 42 characters: '{USDC}00'"),
    (USDC[2:] + "0", f"{RULE}, got 41 characters: '{USDC[2:]}0'"),
    ("0X" + USDC[2:], f"{RULE}, got 42 characters (the prefix must be lower-case '0x'): '0X{USDC[2:]}'"),
    (USDC[:-1] + "g", f"{RULE}, got non-hex 'g' at index 41: '{USDC[:-1]}g'"),
    (USDC[:5] + " " + USDC[6:], f"{RULE}, got non-hex ' ' at index 5: '{USDC[:5]} {USDC[6:]}'"),
    (USDC[2:-1] + "_", f"{RULE}, got non-hex '_' at index 39: '{USDC[2:-1]}_'"),
    ("0x+" + USDC[3:], f"{RULE}, got non-hex '+' at index 2: '0x+{USDC[3:]}'"),
])
def test_bad_addresses(make, venue, address, message):
    with pytest.raises(IdentifierError) as info:
        make(address)
    assert str(info.value) == message
    assert isinstance(info.value, OrderBookError) and isinstance(info.value, ValueError)


def test_address_type():
    with pytest.raises(FieldTypeError, match=r"^token address must be a str, got bytes b'\\xa0'$"):
        InstrumentId.ethereum_token(b"\xa0")  # type: ignore[arg-type]
    with pytest.raises(FieldTypeError, match=r"^token address must be a str, got int 5$"):
        InstrumentId.ethereum_token(5)  # type: ignore[arg-type]


# --- the value -----------------------------------------------------------------

@pytest.mark.parametrize("args, error, message", [
    ((-1, 0, 0), FieldRangeError, "asset_id must be in 0..18446744073709551615, got -1"),
    ((1 << 64, 0, 0), FieldRangeError, "asset_id must be in 0..18446744073709551615, got 18446744073709551616"),
    ((0, 65536, 0), FieldRangeError, "venue must be in 0..65535, got 65536"),
    ((0, -1, 0), FieldRangeError, "venue must be in 0..65535, got -1"),
    ((0, 0, 256), FieldRangeError, "asset_type must be in 0..255, got 256"),
    ((0, 0, 0, 256), FieldRangeError, "reserved must be in 0..255, got 256"),
    ((1.0, 0, 0), FieldTypeError, "asset_id must be an integer, got float 1.0"),
    ((0, "100", 0), FieldTypeError, "venue must be an integer, got str '100'"),
    ((0, 0, True), FieldTypeError, "asset_type must be an integer, got bool True"),
    ((0, 0, 0, None), FieldTypeError, "reserved must be an integer, got NoneType None"),
])
def test_range_checks(args, error, message):
    with pytest.raises(error) as info:
        InstrumentId(*args)
    assert str(info.value) == message


def test_bounds_accepted():
    iid = InstrumentId((1 << 64) - 1, 65535, 255, 255)
    assert iid == ((1 << 64) - 1, 65535, 255, 255)
    assert InstrumentId(0, 0, 0) == (0, VenueId.GENERIC, 0, 0)


def test_fields_normalised_and_immutable():
    iid = InstrumentId(5, 100, 51)
    assert iid.venue is VenueId.BINANCE and iid.asset_type is AssetType.COIN
    unknown = InstrumentId(5, 137, 7)
    assert type(unknown.venue) is int and type(unknown.asset_type) is int
    with pytest.raises(AttributeError):
        iid.venue = 101  # type: ignore[misc]
    with pytest.raises(AttributeError):
        iid.extra = 1  # type: ignore[attr-defined]
    asset_id, venue, asset_type, reserved = iid
    assert (asset_id, venue, asset_type, reserved) == (5, 100, 51, 0)
    assert hash(iid) == hash((5, 100, 51, 0))


def test_replace_is_checked():
    iid = InstrumentId.coin(VenueId.BINANCE, "BTC")
    assert iid._replace(venue=101).venue is VenueId.KRAKEN
    with pytest.raises(FieldRangeError, match="venue must be in 0..65535, got 70000"):
        iid._replace(venue=70000)


def test_make_is_checked():
    assert InstrumentId._make([1, 100, 51, 0]).venue is VenueId.BINANCE
    with pytest.raises(FieldRangeError, match="reserved must be in 0..255, got 300"):
        InstrumentId._make([1, 100, 51, 300])


def test_pickle_and_copy():
    iid = InstrumentId.ethereum_token(USDC)
    for other in (pickle.loads(pickle.dumps(iid)), copy.copy(iid), copy.deepcopy(iid)):
        assert other == iid and type(other) is InstrumentId and other.venue is VenueId.ETHEREUM


def test_repr_round_trips():
    iid = InstrumentId.coin(VenueId.BINANCE, "BTCUSDT")
    assert repr(iid) == ("InstrumentId(asset_id=0x4254435553445400, venue=VenueId.BINANCE, "
                         "asset_type=AssetType.COIN, reserved=0)")
    odd = InstrumentId(1234, 137, 7, 3)
    assert repr(odd) == "InstrumentId(asset_id=0x00000000000004d2, venue=137, asset_type=7, reserved=3)"
    names = {"InstrumentId": InstrumentId, "VenueId": VenueId, "AssetType": AssetType}
    for x in (iid, odd, InstrumentId.bsc_token(USDC)):
        assert eval(repr(x), names) == x


@pytest.mark.parametrize("iid, text", [
    (InstrumentId.coin(VenueId.BINANCE, "BTCUSDT"), "Binance Coin BTCUSDT"),
    (InstrumentId.stock(VenueId.NASDAQ, "AAPL"), "NASDAQ Stock AAPL"),
    (InstrumentId.bond(VenueId.NYSE, "T10Y"), "NYSE Bond T10Y"),
    (InstrumentId.coin(VenueId.KUCOIN, "ETH-USDT"), "KuCoin Coin ETH-USDT"),
    (InstrumentId.ethereum_token(USDC), "Ethereum Token 0xa0b86991c6218b36"),
    (InstrumentId.bsc_token(USDC), "BinanceSmartChain Token 0xa0b86991c6218b36"),
    # a token whose address prefix happens to be ASCII is still shown as hex
    (InstrumentId.polygon_token("0x4142434400000000" + "0" * 24), "Polygon Token 0x4142434400000000"),
    (InstrumentId.coin(VenueId.KRAKEN, "€UR"), "Kraken Coin 0xe282ac5552000000"),
    (InstrumentId(0, VenueId.GENERIC, AssetType.COIN), "Generic Coin 0x0000000000000000"),
    (InstrumentId(0xE19C, 137, 2), "venue 137 Bond 0x000000000000e19c"),
    (InstrumentId(0xE19C, 100, 77), "Binance asset_type 77 0x000000000000e19c"),
    (InstrumentId(1234, 999, 77), "venue 999 asset_type 77 0x00000000000004d2"),
    (InstrumentId(int.from_bytes(b"BTC\0\0\0\0\0", "big"), 999, 0), "venue 999 asset_type 0 BTC"),
    (InstrumentId(42, VenueId.BALANCER, AssetType.POOL, 1), "Balancer Pool 0x000000000000002a reserved 1"),
])
def test_describe(iid, text):
    assert iid.describe() == text == str(iid)
    assert describe_instrument(iid.asset_id, int(iid.venue), int(iid.asset_type), iid.reserved) == text
    if iid.reserved == 0:
        assert describe_instrument(iid.asset_id, iid.venue, iid.asset_type) == text


def test_instance_name_helpers():
    iid = InstrumentId.coin(VenueId.BINANCE_SMART_CHAIN, "BNB")
    assert (iid.venue_name, iid.asset_type_name) == ("BinanceSmartChain", "Coin")
    assert (InstrumentId(0, 9, 9).venue_name, InstrumentId(0, 9, 9).asset_type_name) == ("9", "9")


def test_pure_python():
    """orderbook.ids (and orderbook.errors) import without the compiled extensions."""
    package = Path(__file__).resolve().parent.parent / "orderbook"
    if not (package / "ids.py").is_file():
        pytest.skip("the package sources are not here (the suite runs against an installed wheel)")
    code = (
        "import sys, types\n"
        f"pkg = types.ModuleType('orderbook'); pkg.__path__ = [{str(package)!r}]\n"
        "sys.modules['orderbook'] = pkg\n"
        "import orderbook.ids as ids\n"
        "assert ids.InstrumentId.coin(100, 'BTC').describe() == 'Binance Coin BTC'\n"
        "assert sorted(m for m in sys.modules if m.startswith('orderbook')) == "
        "['orderbook', 'orderbook.errors', 'orderbook.ids'], sorted(sys.modules)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
