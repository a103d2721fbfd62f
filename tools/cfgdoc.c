/* Prints the key reference of docs/CONFIG.md, generated from the schema:
 * `build/cfgdoc > /tmp/keys.md` then `scripts/update-config-doc.sh`. */
#include <stdio.h>

#include "config/config.h"

int
main(void)
{
	return cfg_doc_markdown(stdout) == 0 ? 0 : 1;
}
