/* exec_swap's child: exits with VALUE (built with -DVALUE=1 and -DVALUE=2), after
   some libc work so that its run enters ld.so's and libc's code. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef VALUE
#define VALUE 0
#endif

int main(void) {
    char buf[64];
    snprintf(buf, sizeof buf, "value %d", VALUE);
    return (int)strlen(buf) == 7 ? VALUE : 99;
}
