package io.fluostream.tiff;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes an OME-TIFF time series: one uncompressed page per plane in XYCZT order (channel fastest,
 * then time), the OME-XML in the first page's ImageDescription, little-endian. Classic TIFF up to
 * 4 GiB, BigTIFF above (read by Fiji/Bio-Formats, tifffile/napari and this module's reader). The same
 * planes and description give the same bytes: no dates, no random UUIDs, no software version.
 *
 * <p>Written directly rather than through ImageIO: the JDK's TIFF writer (the only ImageIO writer
 * here that writes float32; TwelveMonkeys 3.14 does not) managed 20–40 MiB/s and stops at 4 GiB;
 * uncompressed pages are a few fixed tags and the samples, written here at disk speed. The tests
 * read every layout back through TwelveMonkeys ImageIO and tifffile. The file appears under its
 * name only when {@link #finish()} succeeds; until then it is written beside it under another name.
 */
public final class OmeTiffWriter implements Closeable {

    /** Above this a classic TIFF's 32-bit offsets run out (with a margin for directories): BigTIFF. */
    static final long CLASSIC_LIMIT = (1L << 32) - (64L << 20);
    /** Strips of about 256 KiB: few entries per page, small enough for any reader. */
    private static final int STRIP_BYTES = 256 * 1024;

    private static final int SHORT = 3;
    private static final int LONG = 4;
    private static final int RATIONAL = 5;
    private static final int ASCII = 2;
    private static final int LONG8 = 16;

    private final OmeImage image;
    private final Path target;
    private final Path temp;
    private final FileChannel out;
    private final boolean big;
    private final String description;
    private final int rowsPerStrip;
    private final ByteBuffer plane;
    /** Where the offset of the next page's directory goes (the header's, then each directory's "next"). */
    private long nextPointerAt;
    private int written;
    private boolean finished;

    private OmeTiffWriter(OmeImage image, Path target, boolean big) throws IOException {
        this.image = image;
        this.target = target;
        this.big = big;
        this.description = OmeXml.write(image, false);
        long rowBytes = (long) image.width() * image.type().bytes();
        this.rowsPerStrip = (int) Math.max(1, Math.min(image.height(), STRIP_BYTES / rowBytes));
        this.plane = ByteBuffer.allocate(Math.toIntExact(image.planeBytes())).order(ByteOrder.LITTLE_ENDIAN);
        Files.createDirectories(target.toAbsolutePath().getParent());
        this.temp = partFile(target);
        FileChannel channel = null;
        try {
            channel = FileChannel.open(temp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
            ByteBuffer header = ByteBuffer.allocate(big ? 16 : 8).order(ByteOrder.LITTLE_ENDIAN);
            header.put((byte) 'I').put((byte) 'I');
            if (big) {
                header.putShort((short) 43).putShort((short) 8).putShort((short) 0).putLong(0);
            } else {
                header.putShort((short) 42).putInt(0);
            }
            writeFully(channel, header.flip(), 0);
        } catch (IOException | RuntimeException e) {
            if (channel != null) {
                channel.close();
            }
            Files.deleteIfExists(temp);
            throw e;
        }
        this.out = channel;
        this.nextPointerAt = big ? 8 : 4;
    }

    /** Starts writing {@code image} to {@code target}; BigTIFF when it would not fit a classic TIFF. */
    public static OmeTiffWriter create(Path target, OmeImage image) throws IOException {
        return new OmeTiffWriter(image, target, needsBigTiff(image));
    }

    /** For tests: BigTIFF whatever the size. */
    static OmeTiffWriter createBigTiff(Path target, OmeImage image) throws IOException {
        return new OmeTiffWriter(image, target, true);
    }

    static boolean needsBigTiff(OmeImage image) {
        long pixels = image.planeBytes() * image.sizeC() * image.sizeT();
        return pixels + 64L * 1024 * image.sizeC() * image.sizeT() > CLASSIC_LIMIT;
    }

    /** Whether this file is a BigTIFF. */
    public boolean bigTiff() {
        return big;
    }

    /** A new, unused name beside {@code target} for writing it before it is complete. */
    public static Path partFile(Path target) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        for (int attempt = 0; ; attempt++) {
            Path p = dir.resolve("." + target.getFileName() + "." + ProcessHandle.current().pid() + "-" + System.nanoTime() + ".part");
            try {
                // Not createTempFile, whose owner-only permissions the finished file would keep.
                return Files.createFile(p);
            } catch (FileAlreadyExistsException e) {
                if (attempt > 100) {
                    throw e;
                }
            }
        }
    }

    /** The OME-XML written into the first page. */
    public String description() {
        return description;
    }

    /** Writes the next float32 plane: {@code height*width} samples of {@code data} from {@code offset}. */
    public void writePlane(float[] data, int offset) throws IOException {
        int n = prepare(SampleType.FLOAT32, data.length, offset);
        plane.clear();
        plane.asFloatBuffer().put(data, offset, n);
        writePage();
    }

    /** Writes the next uint16 plane (unsigned samples in Java shorts). */
    public void writePlane(short[] data, int offset) throws IOException {
        int n = prepare(SampleType.UINT16, data.length, offset);
        plane.clear();
        plane.asShortBuffer().put(data, offset, n);
        writePage();
    }

    /** Writes the next uint8 plane. */
    public void writePlane(byte[] data, int offset) throws IOException {
        int n = prepare(SampleType.UINT8, data.length, offset);
        plane.clear();
        plane.put(data, offset, n);
        writePage();
    }

    private int prepare(SampleType type, int length, int offset) {
        if (type != image.type()) {
            throw new IllegalArgumentException("this file holds " + image.type().omeName() + " planes, not " + type.omeName());
        }
        if (written == image.sizeC() * image.sizeT()) {
            throw new IllegalStateException("all " + written + " planes are written already");
        }
        int n = image.height() * image.width();
        if (offset < 0 || offset + n > length) {
            throw new IllegalArgumentException("a plane needs " + n + " samples from offset " + offset + ", the array has " + length);
        }
        return n;
    }

    /** One tag of a page directory; {@code value} is already little-endian bytes of its type. */
    private record Tag(int tag, int type, long count, byte[] value) {
    }

    /** The samples (strips back to back), then the page's directory, then links it into the chain. */
    private void writePage() throws IOException {
        long dataAt = align(out.size());
        plane.clear();
        writeFully(out, plane, dataAt);
        int strips = (image.height() + rowsPerStrip - 1) / rowsPerStrip;
        long rowBytes = (long) image.width() * image.type().bytes();
        long[] offsets = new long[strips];
        long[] counts = new long[strips];
        for (int s = 0; s < strips; s++) {
            offsets[s] = dataAt + s * rowsPerStrip * rowBytes;
            counts[s] = Math.min(rowsPerStrip, image.height() - (long) s * rowsPerStrip) * rowBytes;
        }
        List<Tag> tags = new ArrayList<>();
        tags.add(new Tag(256, LONG, 1, ints(image.width())));
        tags.add(new Tag(257, LONG, 1, ints(image.height())));
        tags.add(new Tag(258, SHORT, 1, shorts(image.type().bytes() * 8)));
        tags.add(new Tag(259, SHORT, 1, shorts(1))); // no compression
        tags.add(new Tag(262, SHORT, 1, shorts(1))); // black is zero
        if (written == 0) {
            byte[] text = (description + "\0").getBytes(StandardCharsets.US_ASCII); // OmeXml writes ASCII only
            tags.add(new Tag(270, ASCII, text.length, text));
        }
        tags.add(new Tag(273, big ? LONG8 : LONG, strips, big ? longs(offsets) : ints(offsets)));
        tags.add(new Tag(277, SHORT, 1, shorts(1)));
        tags.add(new Tag(278, LONG, 1, ints(rowsPerStrip)));
        tags.add(new Tag(279, big ? LONG8 : LONG, strips, big ? longs(counts) : ints(counts)));
        double px = image.metadata().pixelSizeUm();
        if (px > 0) {
            // Pixels per centimetre, for readers that ignore OME-XML.
            long[] perCm = {Math.round(1e4 / px * 1000), 1000};
            tags.add(new Tag(282, RATIONAL, 1, ints(perCm)));
            tags.add(new Tag(283, RATIONAL, 1, ints(perCm)));
        }
        tags.add(new Tag(284, SHORT, 1, shorts(1))); // one plane of samples
        if (px > 0) {
            tags.add(new Tag(296, SHORT, 1, shorts(3))); // centimetre
        }
        tags.add(new Tag(339, SHORT, 1, shorts(image.type() == SampleType.FLOAT32 ? 3 : 1)));

        long ifdAt = align(dataAt + plane.capacity());
        int entrySize = big ? 20 : 12;
        int inline = big ? 8 : 4;
        long ifdSize = (big ? 8 : 2) + (long) tags.size() * entrySize + (big ? 8 : 4);
        long extraAt = align(ifdAt + ifdSize);
        ByteBuffer ifd = ByteBuffer.allocate((int) ifdSize).order(ByteOrder.LITTLE_ENDIAN);
        List<byte[]> extra = new ArrayList<>();
        long at = extraAt;
        if (big) {
            ifd.putLong(tags.size());
        } else {
            ifd.putShort((short) tags.size());
        }
        for (Tag t : tags) {
            ifd.putShort((short) t.tag()).putShort((short) t.type());
            if (big) {
                ifd.putLong(t.count());
            } else {
                ifd.putInt((int) t.count());
            }
            byte[] field = new byte[inline];
            if (t.value().length <= inline) {
                System.arraycopy(t.value(), 0, field, 0, t.value().length);
            } else {
                if (big) {
                    ByteBuffer.wrap(field).order(ByteOrder.LITTLE_ENDIAN).putLong(at);
                } else {
                    ByteBuffer.wrap(field).order(ByteOrder.LITTLE_ENDIAN).putInt((int) at);
                }
                extra.add(t.value());
                at = align(at + t.value().length);
            }
            ifd.put(field);
        }
        if (big) {
            ifd.putLong(0);
        } else {
            ifd.putInt(0);
        }
        writeFully(out, ifd.flip(), ifdAt);
        long valueAt = extraAt;
        for (byte[] v : extra) {
            writeFully(out, ByteBuffer.wrap(v), valueAt);
            valueAt = align(valueAt + v.length);
        }
        ByteBuffer pointer = ByteBuffer.allocate(big ? 8 : 4).order(ByteOrder.LITTLE_ENDIAN);
        if (big) {
            pointer.putLong(ifdAt);
        } else {
            pointer.putInt((int) ifdAt);
        }
        writeFully(out, pointer.flip(), nextPointerAt);
        nextPointerAt = ifdAt + ifdSize - (big ? 8 : 4);
        written++;
    }

    /** TIFF values start on word boundaries; 8 bytes keeps BigTIFF's LONG8s aligned too. */
    private static long align(long offset) {
        return (offset + 7) & ~7L;
    }

    private static byte[] shorts(int v) {
        return ByteBuffer.allocate(2).order(ByteOrder.LITTLE_ENDIAN).putShort((short) v).array();
    }

    private static byte[] ints(long... v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (long x : v) {
            b.putInt((int) x);
        }
        return b.array();
    }

    private static byte[] longs(long... v) {
        ByteBuffer b = ByteBuffer.allocate(8 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (long x : v) {
            b.putLong(x);
        }
        return b.array();
    }

    private static void writeFully(FileChannel channel, ByteBuffer b, long at) throws IOException {
        long pos = at;
        while (b.hasRemaining()) {
            pos += channel.write(b, pos);
        }
    }

    /** Ends the file and moves it to its name; throws if planes are missing. */
    public void finish() throws IOException {
        int planes = image.sizeC() * image.sizeT();
        if (written != planes) {
            throw new IllegalStateException(written + " of " + planes + " planes written; the file is incomplete");
        }
        out.force(false);
        out.close();
        Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        finished = true;
    }

    /** Discards an unfinished file. */
    @Override
    public void close() throws IOException {
        if (!finished) {
            try {
                out.close();
            } finally {
                Files.deleteIfExists(temp);
            }
        }
    }
}
