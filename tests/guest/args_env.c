/* Prints argv, the environment entries named GUEST_* (sorted: qemu-user
 * reverses the environment's order), and the aux vector entries the loader
 * must set.  Deterministic for a given command line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>

static int cmp(const void *a, const void *b) { return strcmp(*(char **)a, *(char **)b); }

int main(int argc, char **argv, char **envp) {
    printf("argc=%d\n", argc);
    for (int i = 0; i < argc; i++)
        printf("argv[%d]=%s\n", i, argv[i]);
    printf("argv[argc]=%s\n", argv[argc] ? "non-null" : "null");
    int n = 0, g = 0;
    char *guest[64];
    for (char **e = envp; *e; e++, n++)
        if (strncmp(*e, "GUEST_", 6) == 0 && g < 64)
            guest[g++] = *e;
    qsort(guest, g, sizeof *guest, cmp);
    for (int i = 0; i < g; i++)
        printf("env %s\n", guest[i]);
    printf("envc>0=%d\n", n > 0);
    printf("AT_PAGESZ=%lu\n", getauxval(AT_PAGESZ));
    printf("AT_HWCAP_FP=%lu\n", getauxval(AT_HWCAP) & 1);
    printf("AT_HWCAP_ASIMD=%lu\n", (getauxval(AT_HWCAP) >> 1) & 1);
    printf("AT_RANDOM_set=%d\n", getauxval(AT_RANDOM) != 0);
    printf("AT_EXECFN_set=%d\n", getauxval(AT_EXECFN) != 0);
    const char *fn = (const char *)getauxval(AT_EXECFN);
    const char *base = fn ? strrchr(fn, '/') : 0;
    printf("AT_EXECFN_base=%s\n", base ? base + 1 : fn ? fn : "(none)");
    printf("AT_ENTRY_set=%d\n", getauxval(AT_ENTRY) != 0);
    printf("AT_PHDR_set=%d\n", getauxval(AT_PHDR) != 0);
    printf("AT_UID=%lu AT_EUID=%lu\n", getauxval(AT_UID), getauxval(AT_EUID));
    printf("AT_SECURE=%lu\n", getauxval(AT_SECURE));
    /* AT_RANDOM points at 16 bytes that are readable */
    const unsigned char *r = (const unsigned char *)getauxval(AT_RANDOM);
    unsigned sum = 0;
    for (int i = 0; r && i < 16; i++) sum += r[i];
    printf("AT_RANDOM_readable=%d\n", r != 0 && sum != 0);
    return 0;
}
