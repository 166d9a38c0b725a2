// Starts commands in turn and prints, for each, the median and best wall
// time from spawn to reap and the largest max RSS of its runs.
//
//   startup-spawner RUNS CMD [ARG...] [:: CMD [ARG...]]...
//
// One line per command: "median_ns best_ns max_rss_kb". pumpwand-bench's
// startup section runs it. It is a small C program of its own because
// Linux carries the parent's resident set into a spawned child's max RSS
// (exec folds the address space it replaces into ru_maxrss): started from
// the benchmark, whose own RSS is about 16 MB, every command would seem to
// need at least that much. (The spawner itself, linked by swiftc with the
// Swift runtime, has about 3.6 MB: a command smaller than that would read
// as that; /bin/true does, and its RSS is not printed.)
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

static long long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int compare(const void *a, const void *b) {
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

enum { maximum_commands = 16, maximum_runs = 100000 };

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: startup-spawner RUNS CMD [ARG...] [:: CMD [ARG...]]...\n");
        return 64;
    }
    char *end = NULL;
    long runs = strtol(argv[1], &end, 10);
    if (*end != '\0' || runs < 1 || runs > maximum_runs) {
        fprintf(stderr, "startup-spawner: RUNS must be 1 to %d\n", maximum_runs);
        return 64;
    }
    char **commands[maximum_commands];
    int count = 0;
    commands[count++] = &argv[2];
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "::") == 0) {
            if (count == maximum_commands || i + 1 >= argc) {
                fprintf(stderr, "startup-spawner: 1 to %d commands, none empty\n", maximum_commands);
                return 64;
            }
            argv[i] = NULL;
            commands[count++] = &argv[i + 1];
        }
    }
    long long *times = calloc((size_t)count * (size_t)runs, sizeof(long long));
    long resident[maximum_commands] = {0};
    if (times == NULL) return 70;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    // Alternating, so a busy machine slows every command alike.
    for (long run = 0; run < runs; run++) {
        for (int c = 0; c < count; c++) {
            pid_t pid;
            long long start = now_ns();
            int failed = posix_spawn(&pid, commands[c][0], &actions, NULL, commands[c], environ);
            if (failed) {
                fprintf(stderr, "startup-spawner: %s: %s\n", commands[c][0], strerror(failed));
                return 69;
            }
            int status;
            struct rusage usage;
            while (wait4(pid, &status, 0, &usage) < 0) {
                if (errno != EINTR) { perror("startup-spawner: wait4"); return 70; }
            }
            times[(size_t)c * (size_t)runs + (size_t)run] = now_ns() - start;
            if (usage.ru_maxrss > resident[c]) resident[c] = usage.ru_maxrss;
            // A figure for an error path would mislead.
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                fprintf(stderr, "startup-spawner: %s ended with status %d\n", commands[c][0],
                        WIFEXITED(status) ? WEXITSTATUS(status) : -1);
                return 1;
            }
        }
    }
    for (int c = 0; c < count; c++) {
        long long *own = times + (size_t)c * (size_t)runs;
        qsort(own, (size_t)runs, sizeof(long long), compare);
        printf("%lld %lld %ld\n", own[runs / 2], own[0], resident[c]);
    }
    free(times);
    return 0;
}
