/* Reads through a NULL pointer: the guest must die of SIGSEGV (status 139). */
#include <stdio.h>
int main(void) {
    volatile int *p = (int *)0;
    printf("about to fault\n");
    fflush(stdout);
    return *p;
}
