/* OpenEXR 3.1's C core cannot encode or decode DWAA/DWAB; these use the C++ library for those. */
#ifndef TC_EXR_IMF_H
#define TC_EXR_IMF_H

#include "tc_codecs.h"

#ifdef __cplusplus
extern "C" {
#endif

int tc_exr_read_imf(const char *path, tc_image *out, char *err, size_t err_len);
int tc_exr_write_imf(const char *path, const float *pixels, int32_t width, int32_t height, int32_t channels, int half,
                     int compression, const char *const *keys, const char *const *values, int n_attrs, char *err,
                     size_t err_len);

#ifdef __cplusplus
}
#endif

#endif
