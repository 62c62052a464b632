#include "tcgraph_abi.h"

const char *tc_kind_name(int32_t kind) {
    switch (kind) {
    case TC_KIND_IMAGE: return "IMAGE";
    case TC_KIND_SKETCH: return "SKETCH";
    case TC_KIND_LATENT: return "LATENT";
    case TC_KIND_COND: return "COND";
    case TC_KIND_REFS: return "REFS";
    case TC_KIND_TENSORS: return "TENSORS";
    default: return "?";
    }
}

const char *tc_dtype_name(tc_dtype d) {
    if (d.lanes != 1) return "?";
    switch (d.code) {
    case TC_DTYPE_FLOAT: return d.bits == 32 ? "f32" : d.bits == 16 ? "f16" : d.bits == 64 ? "f64" : "?";
    case TC_DTYPE_BFLOAT: return d.bits == 16 ? "bf16" : "?";
    case TC_DTYPE_INT: return d.bits == 64 ? "i64" : d.bits == 32 ? "i32" : d.bits == 16 ? "i16" : d.bits == 8 ? "i8" : "?";
    case TC_DTYPE_UINT: return d.bits == 8 ? "u8" : d.bits == 16 ? "u16" : d.bits == 32 ? "u32" : "?";
    default: return "?";
    }
}

int64_t tc_tensor_count(const tc_tensor *t) {
    int64_t n = 1;
    for (int32_t i = 0; i < t->ndim; i++) n *= t->shape[i];
    return n;
}

int32_t tc_tensor_is_compact(const tc_tensor *t) {
    if (!t->strides) return 1;
    int64_t expected = 1;
    for (int32_t i = t->ndim - 1; i >= 0; i--) {
        if (t->shape[i] != 1 && t->strides[i] != expected) return 0;
        expected *= t->shape[i];
    }
    return 1;
}
