#include <stdio.h>
#include "sa_emu.h"
#include "sa_test_util.h"
int main() {
    sa_emu_stats s;
    sa_emu_get_stats(&s);
    printf("emulated GPU: %s\n", sa_emu_current_model());
    return 0;
}
