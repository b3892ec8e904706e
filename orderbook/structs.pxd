# The wire structs, byte for byte the Rust #[repr(C)] layout (SPEC section 1).
#
# Every struct is declared `packed` with its padding spelled out as named
# fields.  Sizes and offsets are exactly those rustc produces (tests compare
# them with shared/golden/layout.json), but the alignment requirement drops to
# 1, so a pointer to one of these structs may sit at any address: inside a
# message the book starts at offset 37, and views over foreign buffers must
# never assume 8-byte alignment.  The compiler then emits unaligned-safe loads
# and stores for every field access (plain `mov` on x86-64 and arm64).

from libc.stdint cimport int64_t, uint8_t, uint16_t, uint32_t, uint64_t

cdef extern from "src/ob_platform.h":
    # The few numbers everything else derives from.  Sizes are checked
    # against sizeof() of the structs below at import time.
    enum:
        OB_MAX_LEVELS            # 128 slots per side
        OB_PROTOCOL_VERSION      # 1
        OB_TLV_ORDER_BOOK        # 3
        OB_TLV_EXTENDED          # 255
    const uint32_t OB_HEADER_MAGIC   # 0xDEADBEEF (unsigned: not an int enum)


cdef packed struct OrderLevel:
    int64_t price            # fixed point: value * precision_factor
    int64_t size             # fixed point
    uint32_t order_count     # 0 where the venue does not report it
    uint32_t reserved        # written as 0, preserved as read


cdef packed struct Levels:
    # Rust FixedVec<OrderLevel, 128>: slots at and past `count` are all-zero.
    uint16_t count
    uint8_t _pad[6]
    OrderLevel elements[OB_MAX_LEVELS]


cdef packed struct OrderBookTLV:
    uint64_t timestamp_ns
    uint64_t sequence
    int64_t precision_factor
    Levels bids              # best (highest price) first
    Levels asks              # best (lowest price) first
    uint64_t asset_id
    uint16_t venue_id
    uint8_t asset_type
    uint8_t reserved
    uint8_t _tail[4]         # tail padding to the 8-byte alignment of the Rust struct


cdef packed struct MessageHeader:
    uint32_t magic
    uint8_t relay_domain
    uint8_t version
    uint8_t source
    uint8_t flags
    uint64_t sequence
    uint64_t timestamp
    uint32_t payload_size
    uint32_t checksum


cdef packed struct ExtendedTLVHeader:
    # 255, 0 (reserved), type, u16 length: the 5 bytes before an extended value.
    uint8_t marker
    uint8_t reserved
    uint8_t tlv_type
    uint16_t length


cdef inline Levels* side_of(OrderBookTLV* book, bint asks) noexcept nogil:
    return &book.asks if asks else &book.bids
