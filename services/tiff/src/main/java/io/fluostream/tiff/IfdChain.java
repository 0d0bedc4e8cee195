package io.fluostream.tiff;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashSet;
import java.util.Set;

/**
 * Walks a TIFF's chain of page directories (classic and BigTIFF) and checks that every directory
 * and every tag value it points to lies inside the file. The decoding library is lenient where a
 * replay must not be: it stops quietly at a directory past the end of a truncated file and drops
 * tags whose values are missing, which would turn a cut-off OME-TIFF into a shorter stack with
 * no metadata. This check is what makes "truncated" an error before anything is published.
 */
final class IfdChain {

    private static final int MAX_PAGES = 10_000_000;

    private IfdChain() {
    }

    /** Returns the number of pages; throws {@link TiffFormatException} for a broken chain. */
    static int pages(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long length = ch.size();
            ByteBuffer header = read(ch, 0, 16, length, file, "the header");
            ByteOrder order = header.get(0) == 'M' ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN;
            header.order(order);
            boolean big = header.getShort(2) == 43;
            long offset = big ? header.getLong(8) : Integer.toUnsignedLong(header.getInt(4));
            Set<Long> seen = new HashSet<>();
            int pages = 0;
            while (offset != 0) {
                String page = file.getFileName() + " page " + pages;
                if (!seen.add(offset) || pages >= MAX_PAGES) {
                    throw new TiffFormatException(page + ": the chain of page directories loops; the file is damaged");
                }
                int countSize = big ? 8 : 2;
                int entrySize = big ? 20 : 12;
                ByteBuffer c = read(ch, offset, countSize, length, file, page + "'s directory").order(order);
                long entries = big ? c.getLong(0) : Short.toUnsignedInt(c.getShort(0));
                if (entries <= 0 || entries > 100_000) {
                    throw new TiffFormatException(page + " has a directory of " + entries + " tags; the file is damaged");
                }
                int size = (int) (entries * entrySize + (big ? 8 : 4));
                ByteBuffer d = read(ch, offset + countSize, size, length, file, page + "'s directory").order(order);
                for (int e = 0; e < entries; e++) {
                    int at = e * entrySize;
                    int tag = Short.toUnsignedInt(d.getShort(at));
                    int type = Short.toUnsignedInt(d.getShort(at + 2));
                    long count = big ? d.getLong(at + 4) : Integer.toUnsignedLong(d.getInt(at + 4));
                    long bytes = count * typeSize(type);
                    if (bytes > (big ? 8 : 4)) {
                        long valueAt = big ? d.getLong(at + 12) : Integer.toUnsignedLong(d.getInt(at + 8));
                        if (valueAt < 0 || bytes < 0 || valueAt + bytes > length) {
                            throw new TiffFormatException(page + ": the value of TIFF tag " + tag + " lies beyond the end of "
                                    + "the file (" + length + " bytes): the file is truncated, e.g. an acquisition that "
                                    + "did not finish or an incomplete copy");
                        }
                    }
                }
                offset = big ? d.getLong(size - 8) : Integer.toUnsignedLong(d.getInt(size - 4));
                pages++;
            }
            return pages;
        }
    }

    /** The byte order of the file's samples, from its header ("II" little, "MM" big). */
    static ByteOrder byteOrder(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer b = read(ch, 0, 2, ch.size(), file, "the header");
            return b.get(0) == 'M' ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN;
        }
    }

    private static ByteBuffer read(FileChannel ch, long at, int size, long length, Path file, String what)
            throws IOException {
        if (at < 0 || at + size > length) {
            throw new TiffFormatException(file.getFileName() + ": " + what + " lies beyond the end of the file ("
                    + length + " bytes): the file is truncated, e.g. an acquisition that did not finish or an incomplete copy");
        }
        ByteBuffer b = ByteBuffer.allocate(size);
        while (b.hasRemaining()) {
            if (ch.read(b, at + b.position()) < 0) {
                throw new TiffFormatException(file.getFileName() + ": " + what + " cannot be read; the file is truncated");
            }
        }
        return b.flip();
    }

    private static int typeSize(int type) {
        return switch (type) {
            case 3, 8 -> 2;
            case 4, 9, 11, 13 -> 4;
            case 5, 10, 12, 16, 17, 18 -> 8;
            default -> 1; // BYTE, ASCII, SBYTE, UNDEFINED; unknown types count as bytes
        };
    }
}
