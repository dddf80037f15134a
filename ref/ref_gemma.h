/* ref/ref_gemma.h -- reference operators of the gemma family (see ref.h for the conventions). */
#ifndef SANA_REF_GEMMA_H
#define SANA_REF_GEMMA_H

#endif
