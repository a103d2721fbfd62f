/* The program version, for every module (CLI, SSH banner, shell). */
#ifndef SKS5_CORE_VERSION_H
#define SKS5_CORE_VERSION_H

#define SKS5_VERSION	"0.1.0"

#endif /* SKS5_CORE_VERSION_H */
