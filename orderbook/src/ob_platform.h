/* Build-time facts the Cython structs rely on. */
#ifndef OB_PLATFORM_H
#define OB_PLATFORM_H

/* The wire format is little-endian and the structs are read in place, so a
   big-endian host would silently read wrong books: refuse to build there. */
#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__)
#  if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#    error "orderbook supports little-endian hosts only: the structs are the little-endian wire bytes read in place"
#  endif
#elif defined(_MSC_VER)
   /* every MSVC target is little-endian */
#else
#  error "orderbook cannot tell this compiler's byte order; it supports little-endian hosts only"
#endif

/* The two capacities (slots per side) found in the field.  Every size and
   offset that depends on a capacity is derived from these two numbers through
   the structs of orderbook/structs.pxd. */
#define OB_MAX_LEVELS 128          /* FixedVec<OrderLevel, 128>: the library's default */
#define OB_UPSTREAM_LEVELS 50      /* FixedVec<OrderLevel, 50>: what upstream ships today */
#define OB_HEADER_MAGIC 0xDEADBEEFu
#define OB_PROTOCOL_VERSION 1
#define OB_TLV_ORDER_BOOK 3
#define OB_TLV_EXTENDED 255

#endif
