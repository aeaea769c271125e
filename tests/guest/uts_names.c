#define _GNU_SOURCE
/* The machine's names as a program sees them: uname(2), the files under
 * /proc/sys/kernel, /proc/version, and sethostname/setdomainname (as root with
 * a bad length and a bad pointer, then as a non-root user).  Prints one
 * "key=value" line each. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

static void show_file(const char *key, const char *path)
{
    char buf[256] = "";
    FILE *f = fopen(path, "r");
    if (!f || !fgets(buf, sizeof buf, f)) {
        printf("%s=(unreadable)\n", key);
    } else {
        buf[strcspn(buf, "\n")] = 0;
        printf("%s=%s\n", key, buf);
    }
    if (f)
        fclose(f);
}

static void show_uname(void)
{
    struct utsname u;
    if (uname(&u) != 0) {
        printf("uname failed\n");
        return;
    }
    printf("sysname=%s\nnodename=%s\nrelease=%s\nversion=%s\nmachine=%s\ndomainname=%s\n",
           u.sysname, u.nodename, u.release, u.version, u.machine, u.domainname);
}

static void result(const char *what, int r)
{
    printf("%s=%s\n", what, r == 0 ? "ok" : strerror(errno));
}

int main(void)
{
    char longname[66];
    memset(longname, 'x', 65);
    longname[65] = 0;

    show_uname();
    show_file("etc_hostname", "/etc/hostname");
    show_file("proc_hostname", "/proc/sys/kernel/hostname");
    show_file("proc_osrelease", "/proc/sys/kernel/osrelease");
    show_file("proc_ostype", "/proc/sys/kernel/ostype");
    show_file("proc_version", "/proc/version");
    result("set_long", sethostname(longname, 65));
    result("set_fault", sethostname((const char *)8, 5));
    result("set_64", sethostname(longname, 64));
    show_file("proc_hostname_64", "/proc/sys/kernel/hostname");
    result("set_host", sethostname("other.example", 13));
    result("set_domain", setdomainname("example.org", 11));
    show_uname();
    show_file("proc_hostname", "/proc/sys/kernel/hostname");
    show_file("proc_domainname", "/proc/sys/kernel/domainname");
    if (setuid(1000) == 0)
        result("set_host_as_user", sethostname("user.example", 12));
    return 0;
}
