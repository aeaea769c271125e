/* Prints argv, a little of envp and the aux vector entries the loader sets. */
#include <stdio.h>
#include <sys/auxv.h>

int main(int argc, char **argv, char **envp) {
    printf("argc=%d\n", argc);
    for (int i = 0; i < argc; i++)
        printf("argv[%d]=%s\n", i, argv[i]);
    int n = 0;
    while (envp[n]) n++;
    printf("envc>0=%d\n", n > 0);
    printf("AT_PAGESZ=%lu\n", getauxval(AT_PAGESZ));
    printf("AT_HWCAP_FP=%lu\n", getauxval(AT_HWCAP) & 1);
    printf("AT_RANDOM_set=%d\n", getauxval(AT_RANDOM) != 0);
    printf("AT_EXECFN_set=%d\n", getauxval(AT_EXECFN) != 0);
    printf("AT_ENTRY_set=%d\n", getauxval(AT_ENTRY) != 0);
    return 0;
}
