/* ref/ref_dcae.h -- reference operators of the dcae family (see ref.h for the conventions). */
#ifndef SANA_REF_DCAE_H
#define SANA_REF_DCAE_H

#endif
