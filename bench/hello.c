/* Start-up: the smallest useful static program (stdio, one line out). */
#include <stdio.h>
int main(void) {
    puts("hello");
    return 0;
}
