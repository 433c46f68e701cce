/*  default_config — the configuration `mimicsocks` runs without --config. */
#ifndef MK_DEFAULT_CONFIG_H
#define MK_DEFAULT_CONFIG_H

extern const char default_config_text[];

#endif
