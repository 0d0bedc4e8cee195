package io.fluostream.learning.device;

import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Structure;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Native memory of this process, for leak tests: the bytes glibc's allocator has handed out and not
 * had back ({@code mallinfo2}: in-use heap chunks plus mmapped blocks), which is where libtorch's
 * CPU tensors and direct buffers live, and the resident set size for reference. The allocator's
 * figure is what a leak moves; RSS also moves with arena caching and fragmentation (±20 MiB
 * over thousands of small frames, measured), so it is only reported.
 */
final class NativeMemory {

    private NativeMemory() {
    }

    /** glibc's {@code struct mallinfo2} (all {@code size_t}). */
    @Structure.FieldOrder({"arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost"})
    public static final class MallInfo2 extends Structure implements Structure.ByValue {
        public long arena;
        public long ordblks;
        public long smblks;
        public long hblks;
        public long hblkhd;
        public long usmblks;
        public long fsmblks;
        public long uordblks;
        public long fordblks;
        public long keepcost;
    }

    interface CLibrary extends Library {
        MallInfo2 mallinfo2();
    }

    private static final CLibrary C = load();

    private static CLibrary load() {
        try {
            CLibrary c = Native.load("c", CLibrary.class);
            c.mallinfo2();
            return c;
        } catch (UnsatisfiedLinkError | RuntimeException e) {
            return null; // not glibc ≥ 2.33
        }
    }

    /** Whether the allocator's figure is available here (Linux, glibc ≥ 2.33). */
    static boolean allocatorAvailable() {
        return C != null;
    }

    /** Bytes allocated by malloc and not freed (after a GC, so dead direct buffers are returned). */
    static long allocatedBytes() {
        settle();
        MallInfo2 m = C.mallinfo2();
        return m.uordblks + m.hblkhd;
    }

    /** VmRSS, KiB. */
    static long residentKib() throws IOException {
        settle();
        List<String> lines = Files.readAllLines(Path.of("/proc/self/status"));
        for (String line : lines) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        throw new IllegalStateException("no VmRSS in /proc/self/status");
    }

    /** A GC, then time for the cleaner thread to free the direct buffers it found dead. */
    private static void settle() {
        System.gc();
        try {
            Thread.sleep(200);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        System.gc();
    }
}
