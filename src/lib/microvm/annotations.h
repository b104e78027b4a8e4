/* The annotations that configure a microvm workload, and one way to read
 * them: annotation values are strings, and an error names the annotation. */
#ifndef VESSEL_MICROVM_ANNOTATIONS_H
#define VESSEL_MICROVM_ANNOTATIONS_H

#include <json-c/json.h>

#include "core/error.h"

#define VS_ANN_BACKEND	      "io.vessel.backend"	    /* microvm | container */
#define VS_ANN_VM_MEMORY      "io.vessel.vm.memory"	    /* guest RAM: MiB, or 512M, 1G */
#define VS_ANN_VM_CPUS	      "io.vessel.vm.cpus"	    /* vCPUs: 1..VS_VM_MAX_CPUS */
#define VS_ANN_VM_KERNEL      "io.vessel.vm.kernel"	    /* path of the guest kernel */
#define VS_ANN_ALLOW_EMULATED "io.vessel.vm.allow-emulated" /* "true": no VT-x check */
/* Kubernetes sandbox (pause) containers, as containerd and CRI-O mark them. */
#define VS_ANN_CRI_TYPE	 "io.kubernetes.cri.container-type"
#define VS_ANN_CRIO_TYPE "io.kubernetes.cri-o.ContainerType"
#define VS_CRI_SANDBOX	 "sandbox"

/* *out: the annotation's string, borrowed from the document, or NULL when
 * absent (annotations may be NULL). A value that is not a string fails. */
int vs_annotation_get(json_object *annotations, const char *key, const char **out, vs_err *err);

#endif
