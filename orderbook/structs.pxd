# The wire structs, byte for byte the Rust #[repr(C)] layout of upstream's
# OrderBookTLV (field order from its define_tlv! macro: the u64 group, the u16
# group, the u8 group, then the two FixedVec sides), and the layout descriptor
# that lets one code path serve both capacities.
#
# Every struct is declared `packed` with its padding spelled out as named
# fields.  Sizes and offsets are exactly those rustc produces (tests compare
# them with both golden layout.json files), but the alignment requirement
# drops to 1, so a pointer to one of these structs may sit at any address:
# inside a message the book starts at offset 37, and views over foreign
# buffers must never assume 8-byte alignment.  The compiler then emits
# unaligned-safe loads and stores for every field access.
#
# Capacities: a book holds OB_MAX_LEVELS (128) or OB_UPSTREAM_LEVELS (50)
# slots per side.  The 40 bytes before the sides are the same for both
# (OrderBookHeadC), and so is the bid side's offset; only the side size and
# the ask side's offset differ.  Code that serves both capacities works on an
# OrderBookHeadC* and reaches a side through ob_side() with the book's
# BookLayout; a side of either capacity is addressed as LevelsC*, of which
# only elements[0:layout.capacity] exist.  Never use sizeof(LevelsC) or
# sizeof(OrderBookTLVC) there: the sizes are the layout's.

from libc.stdint cimport int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.string cimport memcpy, memset

cdef extern from "src/ob_platform.h":
    # The few numbers everything else derives from.
    enum:
        OB_MAX_LEVELS            # 128 slots per side: the library's default
        OB_UPSTREAM_LEVELS       # 50 slots per side: what upstream ships today
        OB_PROTOCOL_VERSION      # 1
        OB_TLV_ORDER_BOOK        # 3
        OB_TLV_EXTENDED          # 255
    const uint32_t OB_HEADER_MAGIC   # 0xDEADBEEF (unsigned: not an int enum)


cdef packed struct OrderLevelC:
    int64_t price            # fixed point: value * precision_factor
    int64_t size             # fixed point
    uint32_t order_count     # 0 where the venue does not report it
    uint32_t reserved        # written as 0, preserved as read


cdef packed struct LevelsC:
    # Rust FixedVec<OrderLevel, 128>: slots at and past `count` are all-zero.
    uint16_t count
    uint8_t _padding[6]
    OrderLevelC elements[OB_MAX_LEVELS]


cdef packed struct Levels50C:
    # Rust FixedVec<OrderLevel, 50>.
    uint16_t count
    uint8_t _padding[6]
    OrderLevelC elements[OB_UPSTREAM_LEVELS]


cdef packed struct OrderBookHeadC:
    # The fields before the sides, identical at every capacity.
    uint64_t snapshot_timestamp_ns   # when the venue took the snapshot
    uint64_t sequence
    int64_t precision_factor
    uint64_t asset_id                # InstrumentId.asset_id
    uint16_t venue_id                # upstream VenueId
    uint8_t asset_type               # upstream AssetType
    uint8_t reserved
    # rustc's padding up to the first FixedVec's 8-byte alignment.  A Rust
    # struct literal leaves it uninitialised: readers ignore it unless strict.
    uint8_t _padding[4]


cdef packed struct OrderBookTLVC:
    # OrderBookTLV with MAX_ORDER_LEVELS = 128: 6,200 bytes.
    OrderBookHeadC head
    LevelsC bids             # best (highest price) first
    LevelsC asks             # best (lowest price) first


cdef packed struct OrderBookTLV50C:
    # OrderBookTLV with MAX_ORDER_LEVELS = 50: 2,456 bytes.
    OrderBookHeadC head
    Levels50C bids
    Levels50C asks


cdef packed struct MessageHeaderC:
    uint32_t magic
    uint8_t relay_domain
    uint8_t version
    uint8_t source
    uint8_t flags
    uint64_t sequence
    uint64_t timestamp
    uint32_t payload_size
    uint32_t checksum


cdef packed struct ExtendedTLVHeaderC:
    # 255, 0 (reserved), type, u16 length: the 5 bytes before an extended value.
    uint8_t marker
    uint8_t reserved
    uint8_t tlv_type
    uint16_t length


cdef struct BookLayout:
    # Everything that depends on a book's capacity, from the structs above.
    Py_ssize_t capacity      # slots per side
    Py_ssize_t side_size     # bytes of one FixedVec
    Py_ssize_t book_size     # bytes of the OrderBookTLV
    Py_ssize_t asks_offset   # byte offset of the ask side


cdef inline bint ob_layout(Py_ssize_t capacity, BookLayout* out) noexcept nogil:
    """The layout of a book of `capacity` slots per side; false for a capacity
    that no upstream build uses (out untouched)."""
    if capacity == OB_MAX_LEVELS:
        out.side_size = sizeof(LevelsC)
        out.book_size = sizeof(OrderBookTLVC)
    elif capacity == OB_UPSTREAM_LEVELS:
        out.side_size = sizeof(Levels50C)
        out.book_size = sizeof(OrderBookTLV50C)
    else:
        return False
    out.capacity = capacity
    # packed: the sides follow the head and each other with no gap
    out.asks_offset = sizeof(OrderBookHeadC) + out.side_size
    return True


cdef inline bint ob_layout_of_size(Py_ssize_t book_size, BookLayout* out) noexcept nogil:
    """The layout whose OrderBookTLV is `book_size` bytes (an OrderBook
    record's length tells the capacity); false for any other length."""
    if book_size == sizeof(OrderBookTLVC):
        return ob_layout(OB_MAX_LEVELS, out)
    if book_size == sizeof(OrderBookTLV50C):
        return ob_layout(OB_UPSTREAM_LEVELS, out)
    return False


cdef inline void ob_zero_side(LevelsC* s, const BookLayout* L) noexcept nogil:
    """Zero a whole side of layout L.  The sizes are spelled as constants so
    that the compiler writes the stores inline (a variable-size memset goes to
    libc's `rep stosb`, a byte at a time for valgrind)."""
    if L.capacity == OB_MAX_LEVELS:
        memset(s, 0, sizeof(LevelsC))
    else:
        memset(s, 0, sizeof(Levels50C))


cdef inline void ob_copy_side(LevelsC* dst, const LevelsC* src, const BookLayout* L) noexcept nogil:
    """Copy a whole side of layout L (constant sizes, as ob_zero_side)."""
    if L.capacity == OB_MAX_LEVELS:
        memcpy(dst, src, sizeof(LevelsC))
    else:
        memcpy(dst, src, sizeof(Levels50C))


cdef inline LevelsC* ob_side(OrderBookHeadC* t, const BookLayout* L, bint asks) noexcept nogil:
    """The bid (asks false) or ask side of a book of layout L."""
    return <LevelsC*>(<char*>t + (L.asks_offset if asks else sizeof(OrderBookHeadC)))


cdef inline const LevelsC* ob_cside(const OrderBookHeadC* t, const BookLayout* L,
                                    bint asks) noexcept nogil:
    """ob_side() for reading."""
    return <const LevelsC*>(<const char*>t + (L.asks_offset if asks else sizeof(OrderBookHeadC)))
