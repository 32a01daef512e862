/* SASLprep (RFC 4013) is the stringprep profile GNU libidn ships; SCRAM needs it for names and passwords. */
#include <stringprep.h>
