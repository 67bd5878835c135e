/* Umbrella header of the CWireMessages module: the protoc-c output for Sources/WireProtocol/scalellm.proto.
 * Only the WireProtocol target imports this; no C type leaks out of WireProtocol's public API.
 * Regenerate scalellm.pb-c.{c,h} with scripts/gen-proto.sh. */
#ifndef SCALELLM_CWIREMESSAGES_H
#define SCALELLM_CWIREMESSAGES_H
#include "scalellm.pb-c.h"
#endif
