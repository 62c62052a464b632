// Debian's libopenblas-dev installs OpenBLAS's own cblas.h (with openblas_set_num_threads and
// cblas_sbgemm) in the multiarch include directory, which the compiler searches by default.
#include <cblas.h>
