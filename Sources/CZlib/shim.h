// zlib from Debian's zlib1g-dev (a dependency of libpng-dev), for the gzip-compressed BPE vocabulary.
#include <zlib.h>
