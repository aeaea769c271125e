/* The host's interfaces as a guest sees them, read-only: getifaddrs (NETLINK_ROUTE
 * dumps), if_nametoindex/if_indextoname (SIOCGIFINDEX/SIOCGIFNAME), SIOCGIFCONF,
 * SIOCGIFFLAGS and SIOCGIFMTU of lo.  With "try-changes" it also tries to change the
 * host (an address on lo through netlink, sent with send() and with write(), and
 * SIOCSIFMTU), which must fail with EPERM: run that only where the host is safe. */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static void show_lo_addresses(void) {
    struct ifaddrs *list, *a;
    if (getifaddrs(&list) != 0) { perror("getifaddrs"); return; }
    int link = 0, inet = 0;
    for (a = list; a; a = a->ifa_next) {
        if (strcmp(a->ifa_name, "lo") != 0 || !a->ifa_addr) continue;
        if (a->ifa_addr->sa_family == AF_PACKET) link = 1;
        if (a->ifa_addr->sa_family == AF_INET) {
            char buf[64];
            inet_ntop(AF_INET, &((struct sockaddr_in *)a->ifa_addr)->sin_addr, buf, sizeof buf);
            printf("getifaddrs lo inet %s up %d loopback %d\n", buf,
                   !!(a->ifa_flags & IFF_UP), !!(a->ifa_flags & IFF_LOOPBACK));
            inet = 1;
        }
    }
    printf("getifaddrs lo link %d inet %d\n", link, inet);
    freeifaddrs(list);
}

static void show_ioctls(void) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    unsigned idx = if_nametoindex("lo");
    char name[IF_NAMESIZE] = "";
    printf("if_nametoindex lo %s, back to %s\n", idx ? "found" : "missing",
           if_indextoname(idx, name) ? name : "?");
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strcpy(ifr.ifr_name, "lo");
    if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0)
        printf("SIOCGIFFLAGS lo up %d loopback %d\n", !!(ifr.ifr_flags & IFF_UP),
               !!(ifr.ifr_flags & IFF_LOOPBACK));
    if (ioctl(s, SIOCGIFMTU, &ifr) == 0) printf("SIOCGIFMTU lo %d\n", ifr.ifr_mtu);
    if (ioctl(s, SIOCGIFADDR, &ifr) == 0)
        printf("SIOCGIFADDR lo %s\n", inet_ntoa(((struct sockaddr_in *)&ifr.ifr_addr)->sin_addr));
    struct ifconf ifc = {0};
    if (ioctl(s, SIOCGIFCONF, &ifc) == 0) {                /* the size needed */
        char buf[8192];
        int needed = ifc.ifc_len;
        ifc.ifc_len = sizeof buf;
        ifc.ifc_buf = buf;
        int lo = 0;
        if (ioctl(s, SIOCGIFCONF, &ifc) == 0) {
            for (int off = 0; off < ifc.ifc_len; off += sizeof(struct ifreq))
                if (!strcmp(((struct ifreq *)(buf + off))->ifr_name, "lo")) lo = 1;
            printf("SIOCGIFCONF needed==given %d, lo listed %d, %zu-byte records\n",
                   needed == ifc.ifc_len, lo, sizeof(struct ifreq));
        }
    }
    close(s);
}

static int nl_add_address(int use_write) {
    int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (s < 0) return -errno;
    struct { struct nlmsghdr nh; struct ifaddrmsg ifa; struct rtattr rta; struct in_addr a; } req;
    memset(&req, 0, sizeof req);
    req.nh.nlmsg_len = sizeof req;
    req.nh.nlmsg_type = RTM_NEWADDR;
    req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
    req.nh.nlmsg_seq = 7;
    req.ifa.ifa_family = AF_INET;
    req.ifa.ifa_prefixlen = 32;
    req.ifa.ifa_index = if_nametoindex("lo");
    req.rta.rta_type = IFA_LOCAL;
    req.rta.rta_len = RTA_LENGTH(sizeof(struct in_addr));
    inet_pton(AF_INET, "127.66.77.88", &req.a);
    ssize_t n = use_write ? write(s, &req, sizeof req) : send(s, &req, sizeof req, 0);
    if (n < 0) { int e = errno; close(s); return -e; }
    char buf[4096];
    n = recv(s, buf, sizeof buf, 0);
    close(s);
    struct nlmsghdr *h = (struct nlmsghdr *)buf;
    if (n >= (ssize_t)sizeof *h && h->nlmsg_type == NLMSG_ERROR)
        return ((struct nlmsgerr *)NLMSG_DATA(h))->error;
    return 1;
}

int main(int argc, char **argv) {
    show_lo_addresses();
    show_ioctls();
    if (argc > 1 && !strcmp(argv[1], "try-changes")) {
        printf("netlink uevent socket: %s\n",
               socket(AF_NETLINK, SOCK_DGRAM, NETLINK_KOBJECT_UEVENT) < 0 ? strerror(errno)
                                                                            : "opened");
        printf("RTM_NEWADDR by send: %s\n", strerror(-nl_add_address(0)));
        printf("RTM_NEWADDR by write: %s\n", strerror(-nl_add_address(1)));
        int s = socket(AF_INET, SOCK_DGRAM, 0);
        struct ifreq ifr;
        memset(&ifr, 0, sizeof ifr);
        strcpy(ifr.ifr_name, "lo");
        ifr.ifr_mtu = 1280;
        printf("SIOCSIFMTU: %s\n", ioctl(s, SIOCSIFMTU, &ifr) ? strerror(errno) : "changed");
    }
    return 0;
}
