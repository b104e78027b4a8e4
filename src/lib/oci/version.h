#ifndef VESSEL_OCI_VERSION_H
#define VESSEL_OCI_VERSION_H

#define VS_VERSION	   "0.1.0"
#define VS_OCI_VERSION	   "1.1.0"
#define VS_OCI_VERSION_MIN "1.0.0"

#endif
