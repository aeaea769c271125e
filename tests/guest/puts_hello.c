/* The bench's hello (bench/hello.c): start-up, one line of stdio, exit.  Its traces
   call no instruction family's helper, so a warm-cache run needs no translator. */
#include <stdio.h>
int main(void) {
    puts("hello");
    return 0;
}
