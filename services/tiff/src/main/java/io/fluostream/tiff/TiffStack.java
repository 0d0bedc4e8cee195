package io.fluostream.tiff;

import com.twelvemonkeys.imageio.plugins.tiff.TIFFImageReaderSpi;
import java.awt.image.Raster;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/**
 * A microscope stack in a TIFF file: multi-page TIFF, ImageJ hyperstack or single-file OME-TIFF,
 * uint8, uint16 or float32, either byte order (BigTIFF too). {@link #open} checks the whole file's
 * structure before anything is read: every page's size, sample type and compression, that every
 * strip or tile lies inside the file, and that the metadata's dimensions match the pages. A file
 * that passes can still fail later only if a page's compressed data is itself corrupt.
 *
 * <p>Layout: OME-XML (DimensionOrder, SizeT/C/Z, TiffData) when present, else an ImageJ
 * description (channels/slices/frames, order CZT), else pages are time points, or time points ×
 * {@code channels} (channel fastest) when {@link Options#channels()} is given.
 *
 * <p>Compressed and tiled pages are decoded by TwelveMonkeys ImageIO; uncompressed strips, the
 * usual case for microscope files, are read straight from the file (same samples, about ten times
 * faster). This class adds the structure checks and the microscopy layout on top.
 */
public final class TiffStack implements Closeable {

    /** Compressions the reader decodes losslessly: none, LZW, Deflate (both codes), PackBits. */
    private static final Set<Long> COMPRESSIONS = Set.of(1L, 5L, 8L, 32946L, 32773L);

    /**
     * How to read the file.
     *
     * @param channels channels per time point for a stack without metadata (pages T×C, channel fastest);
     *                 0 = take the file's metadata (or 1 channel)
     * @param series   which OME Image to read when the file holds several
     */
    public record Options(int channels, int series) {

        public static Options defaults() {
            return new Options(0, 0);
        }

        public Options withChannels(int c) {
            return new Options(c, series);
        }

        public Options withSeries(int s) {
            return new Options(channels, s);
        }
    }

    private final Path file;
    private final ImageInputStream input;
    private final ImageReader reader;
    private final StackLayout layout;
    private final StackMetadata metadata;
    private final int pages;
    private final int seriesCount;
    /** Per page: its strips when uncompressed (read directly), else null (decoded by the library). */
    private final PlainStrips[] plain;
    private final ByteOrder fileOrder;
    private final FileChannel channel;

    private TiffStack(Path file, ImageInputStream input, ImageReader reader, StackLayout layout, StackMetadata metadata,
                      int pages, int seriesCount, PlainStrips[] plain, ByteOrder fileOrder) throws IOException {
        this.file = file;
        this.input = input;
        this.reader = reader;
        this.layout = layout;
        this.metadata = metadata;
        this.pages = pages;
        this.seriesCount = seriesCount;
        this.plain = plain;
        this.fileOrder = fileOrder;
        this.channel = FileChannel.open(file, StandardOpenOption.READ);
    }

    /** Opens and checks the whole file; throws {@link TiffFormatException} with what is wrong. */
    public static TiffStack open(Path file, Options options) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file.toString(), null, "no such file");
        }
        long length = Files.size(file);
        ImageInputStream in = ImageIO.createImageInputStream(file.toFile());
        if (in == null) {
            throw new IOException("cannot open " + file + " for reading");
        }
        try {
            checkHeader(in, file);
            int chained = IfdChain.pages(file);
            ImageReader reader = new TIFFImageReaderSpi().createReaderInstance(null);
            reader.setInput(in, false, false);
            int pages;
            List<IfdFields> ifds = new ArrayList<>();
            try {
                pages = reader.getNumImages(true);
                for (int i = 0; i < pages; i++) {
                    ifds.add(IfdFields.of(reader.getImageMetadata(i)));
                }
            } catch (IOException | RuntimeException e) {
                throw new TiffFormatException(file.getFileName() + " is not a readable TIFF: its page directory is damaged ("
                        + e.getMessage() + ")", e);
            }
            if (pages == 0) {
                throw new TiffFormatException(file.getFileName() + " holds no pages: the file is truncated or empty");
            }
            if (pages != chained) {
                throw new TiffFormatException(file.getFileName() + ": the TIFF reader found " + pages + " pages but the "
                        + "file's directory chain has " + chained + "; the file is damaged");
            }
            PlainStrips[] plain = new PlainStrips[pages];
            PageFormat format = checkPages(ifds, length, file, plain);
            Layout l = layout(ifds.get(0), pages, format, options, file);
            return new TiffStack(file, in, reader, l.layout(), l.metadata(), pages, l.seriesCount(), plain,
                    IfdChain.byteOrder(file));
        } catch (IOException | RuntimeException e) {
            in.close();
            throw e;
        }
    }

    private record PageFormat(int width, int height, SampleType type) {
    }

    /** The strips of an uncompressed page: row r of the page is in strip r / rowsPerStrip. */
    private record PlainStrips(long[] offsets, int rowsPerStrip) {
    }

    private record Layout(StackLayout layout, StackMetadata metadata, int seriesCount) {
    }

    private static void checkHeader(ImageInputStream in, Path file) throws IOException {
        byte[] magic = new byte[4];
        int n = in.read(magic);
        in.seek(0);
        boolean tiff = n == 4 && ((magic[0] == 'I' && magic[1] == 'I' && magic[2] == 42 && magic[3] == 0)
                || (magic[0] == 'M' && magic[1] == 'M' && magic[2] == 0 && magic[3] == 42)
                || (magic[0] == 'I' && magic[1] == 'I' && magic[2] == 43 && magic[3] == 0)
                || (magic[0] == 'M' && magic[1] == 'M' && magic[2] == 0 && magic[3] == 43));
        if (!tiff) {
            throw new TiffFormatException(file.getFileName() + " is not a TIFF file (it does not start with a TIFF header); "
                    + "replay takes .tif/.tiff/.ome.tif files");
        }
    }

    /** Every page the same size and sample type, one sample per pixel, all data inside the file. */
    private static PageFormat checkPages(List<IfdFields> ifds, long fileLength, Path file, PlainStrips[] plain)
            throws TiffFormatException {
        PageFormat first = null;
        for (int i = 0; i < ifds.size(); i++) {
            IfdFields f = ifds.get(i);
            String page = file.getFileName() + " page " + i;
            long w = f.number(IfdFields.IMAGE_WIDTH, -1);
            long h = f.number(IfdFields.IMAGE_LENGTH, -1);
            if (w <= 0 || h <= 0 || w > Integer.MAX_VALUE || h > Integer.MAX_VALUE) {
                throw new TiffFormatException(page + " has no valid size (" + w + " x " + h + ")");
            }
            long spp = f.number(IfdFields.SAMPLES_PER_PIXEL, 1);
            if (spp != 1) {
                throw new TiffFormatException(page + " has " + spp + " samples per pixel (RGB or interleaved channels); "
                        + "FluoStream takes one sample per pixel and channels as pages: split the channels "
                        + "(Fiji: Image > Color > Split Channels, then Merge Channels as a composite) and save again");
            }
            SampleType type = sampleType(f, page);
            long compression = f.number(IfdFields.COMPRESSION, 1);
            if (!COMPRESSIONS.contains(compression)) {
                throw new TiffFormatException(page + " uses TIFF compression " + compression
                        + ", which replay does not decode losslessly; save the file uncompressed, LZW or Deflate");
            }
            plain[i] = checkData(f, (int) w, (int) h, type, compression, fileLength, page);
            PageFormat format = new PageFormat((int) w, (int) h, type);
            if (first == null) {
                first = format;
            } else if (!first.equals(format)) {
                throw new TiffFormatException(page + " is " + w + " x " + h + " " + type.omeName() + " but page 0 is "
                        + first.width() + " x " + first.height() + " " + first.type().omeName()
                        + "; a stack's pages must all have the same size and type");
            }
        }
        return first;
    }

    private static SampleType sampleType(IfdFields f, String page) throws TiffFormatException {
        long bits = f.number(IfdFields.BITS_PER_SAMPLE, 1);
        long format = f.number(IfdFields.SAMPLE_FORMAT, 1);
        if (bits == 8 && format == 1) {
            return SampleType.UINT8;
        }
        if (bits == 16 && format == 1) {
            return SampleType.UINT16;
        }
        if (bits == 32 && format == 3) {
            return SampleType.FLOAT32;
        }
        String what = (format == 2 ? "signed " : format == 3 ? "floating-point " : "unsigned ") + bits + "-bit";
        throw new TiffFormatException(page + " holds " + what + " samples; FluoStream takes unsigned 8-bit, unsigned "
                + "16-bit and 32-bit float: convert the stack (Fiji: Image > Type > 16-bit or 32-bit) and save it again");
    }

    /**
     * Strip or tile offsets and byte counts present, consistent, and inside the file; returns the
     * strips of an uncompressed, stripped page (else null).
     */
    private static PlainStrips checkData(IfdFields f, int w, int h, SampleType type, long compression, long fileLength,
                                  String page) throws TiffFormatException {
        boolean tiled = f.numbers(IfdFields.TILE_OFFSETS) != null;
        long[] offsets = f.numbers(tiled ? IfdFields.TILE_OFFSETS : IfdFields.STRIP_OFFSETS);
        long[] counts = f.numbers(tiled ? IfdFields.TILE_BYTE_COUNTS : IfdFields.STRIP_BYTE_COUNTS);
        if (offsets == null || counts == null || offsets.length == 0 || offsets.length != counts.length) {
            throw new TiffFormatException(page + " has no valid " + (tiled ? "tile" : "strip")
                    + " table (offsets and byte counts missing or of different lengths); the file is damaged");
        }
        long expectedBlocks;
        long bytesNeeded;
        if (tiled) {
            long tw = f.number(IfdFields.TILE_WIDTH, 0);
            long th = f.number(IfdFields.TILE_LENGTH, 0);
            if (tw <= 0 || th <= 0) {
                throw new TiffFormatException(page + " is tiled but has no valid tile size");
            }
            expectedBlocks = ((w + tw - 1) / tw) * ((h + th - 1) / th);
            bytesNeeded = expectedBlocks * tw * th * type.bytes();
        } else {
            long rows = Math.min(f.number(IfdFields.ROWS_PER_STRIP, h), h);
            if (rows <= 0) {
                throw new TiffFormatException(page + " has RowsPerStrip " + rows + "; the file is damaged");
            }
            expectedBlocks = (h + rows - 1) / rows;
            bytesNeeded = (long) w * h * type.bytes();
        }
        if (offsets.length < expectedBlocks) {
            throw new TiffFormatException(page + " lists " + offsets.length + " " + (tiled ? "tiles" : "strips") + " but its size needs "
                    + expectedBlocks + "; the file is damaged");
        }
        long total = 0;
        for (int k = 0; k < expectedBlocks; k++) {
            if (offsets[k] < 0 || counts[k] < 0 || offsets[k] + counts[k] > fileLength) {
                throw new TiffFormatException(page + ": its pixel data (bytes " + offsets[k] + ".." + (offsets[k] + counts[k])
                        + ") lies beyond the end of the file (" + fileLength + " bytes): the file is truncated, "
                        + "e.g. an acquisition that did not finish or an incomplete copy");
            }
            total += counts[k];
        }
        if (compression == 1 && total < bytesNeeded) {
            throw new TiffFormatException(page + " stores " + total + " bytes of uncompressed pixels but "
                    + w + " x " + h + " " + type.omeName() + " needs " + bytesNeeded + "; the file is damaged");
        }
        // FillOrder 2 (bits reversed within each byte) is left to the library.
        if (compression != 1 || tiled || f.number(IfdFields.FILL_ORDER, 1) != 1) {
            return null;
        }
        int rows = (int) Math.min(f.number(IfdFields.ROWS_PER_STRIP, h), h);
        long rowBytes = (long) w * type.bytes();
        for (int k = 0; k < expectedBlocks; k++) {
            long stripRows = Math.min(rows, h - (long) k * rows);
            if (counts[k] < stripRows * rowBytes) {
                throw new TiffFormatException(page + " strip " + k + " holds " + counts[k] + " bytes but its " + stripRows
                        + " rows need " + stripRows * rowBytes + "; the file is damaged");
            }
        }
        return new PlainStrips(Arrays.copyOf(offsets, (int) expectedBlocks), rows);
    }

    private static Layout layout(IfdFields first, int pages, PageFormat format, Options options, Path file)
            throws TiffFormatException {
        String description = first.text(IfdFields.IMAGE_DESCRIPTION);
        String name = file.getFileName().toString();
        if (OmeXml.looksLikeOme(description)) {
            OmeXml.Parsed p = OmeXml.parse(description, options.series(), pages, format.height(), format.width(),
                    format.type(), name);
            checkChannelsOption(options, p.layout().sizeC(), "OME metadata");
            return new Layout(p.layout(), withFile(p.metadata(), name), p.seriesCount());
        }
        if (options.series() != 0) {
            throw new TiffFormatException(name + " has no OME metadata, so it holds a single series; drop --series");
        }
        if (ImageJDescription.matches(description)) {
            ImageJDescription ij = ImageJDescription.parse(description, pages, name);
            checkChannelsOption(options, ij.channels(), "ImageJ metadata");
            StackLayout layout = StackLayout.ordered("XYCZT", ij.frames(), ij.channels(), ij.slices(),
                    format.height(), format.width(), format.type(), 0);
            return new Layout(layout, withFile(ij.metadata(first), name), 1);
        }
        int c = Math.max(1, options.channels());
        if (pages % c != 0) {
            throw new TiffFormatException(name + " has " + pages + " pages, which do not divide into time points of " + c
                    + " channels; check --channels");
        }
        StackLayout layout = StackLayout.ordered("XYCZT", pages / c, c, 1, format.height(), format.width(), format.type(), 0);
        List<ChannelInfo> channels = new ArrayList<>();
        for (int i = 0; i < c; i++) {
            channels.add(ChannelInfo.named(""));
        }
        double pixelSize = 0;
        // Resolution in pixels per centimetre is a physical size; per inch is usually a screen setting.
        if (first.number(IfdFields.RESOLUTION_UNIT, 2) == 3) {
            double perCm = first.rational(IfdFields.X_RESOLUTION);
            pixelSize = perCm > 0 && Double.isFinite(perCm) ? 1e4 / perCm : 0;
        }
        Map<String, String> extra = new LinkedHashMap<>();
        extra.put("tiff.format", "tiff");
        return new Layout(layout, withFile(new StackMetadata(pixelSize, 0, 0, channels, extra), name), 1);
    }

    private static void checkChannelsOption(Options options, int fileChannels, String source) throws TiffFormatException {
        if (options.channels() > 0 && options.channels() != fileChannels) {
            throw new TiffFormatException("--channels " + options.channels() + " contradicts the file's " + source + " ("
                    + fileChannels + " channels); drop --channels for files with metadata");
        }
    }

    private static StackMetadata withFile(StackMetadata m, String name) {
        Map<String, String> extra = new LinkedHashMap<>(m.extra());
        extra.put("tiff.file", name);
        return new StackMetadata(m.pixelSizeUm(), m.frameIntervalS(), m.exposureMs(), m.channels(), extra);
    }

    public StackLayout layout() {
        return layout;
    }

    public StackMetadata metadata() {
        return metadata;
    }

    /** Number of series (OME Images) in the file; 1 without OME metadata. */
    public int seriesCount() {
        return seriesCount;
    }

    public int pages() {
        return pages;
    }

    public Path file() {
        return file;
    }

    /**
     * The channel planes of time point {@code t} at z plane {@code z}: little-endian samples,
     * channel-major (c, y, x), as FluoStream frames carry them.
     *
     * @throws IOException when a page's data cannot be decoded (corrupt compressed data)
     */
    public byte[] timePoint(int t, int z) throws IOException {
        if (t < 0 || t >= layout.sizeT() || z < 0 || z >= layout.sizeZ()) {
            throw new IndexOutOfBoundsException("time point " + t + ", z " + z + " outside " + layout);
        }
        int plane = layout.height() * layout.width();
        ByteBuffer out = ByteBuffer.allocate(Math.toIntExact(layout.timePointBytes())).order(ByteOrder.LITTLE_ENDIAN);
        for (int c = 0; c < layout.sizeC(); c++) {
            int page = layout.page(t, c, z);
            int base = c * plane * layout.type().bytes();
            if (plain[page] != null && !decodeAllPages) {
                readPlain(page, out, base);
                continue;
            }
            Object samples = readPage(page);
            switch (layout.type()) {
                case UINT8 -> out.put(base, (byte[]) samples, 0, plane);
                // Bulk puts through little-endian views: the byte swap is vectorised.
                case UINT16 -> out.position(base).slice().order(ByteOrder.LITTLE_ENDIAN).asShortBuffer().put((short[]) samples, 0, plane);
                case FLOAT32 -> out.position(base).slice().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().put((float[]) samples, 0, plane);
            }
        }
        return out.array();
    }

    /**
     * An uncompressed page straight from the file: one positioned read per strip, then a byte swap
     * for big-endian files. About ten times the speed of decoding it through ImageIO, and the same
     * samples (checked against the library on every test file).
     */
    private void readPlain(int page, ByteBuffer out, int base) throws IOException {
        PlainStrips strips = plain[page];
        int k = layout.type().bytes();
        long rowBytes = (long) layout.width() * k;
        ByteBuffer dst = out.duplicate();
        int at = base;
        for (int s = 0; s < strips.offsets().length; s++) {
            int rows = Math.min(strips.rowsPerStrip(), layout.height() - s * strips.rowsPerStrip());
            int len = (int) (rows * rowBytes);
            dst.limit(at + len).position(at);
            long from = strips.offsets()[s];
            while (dst.hasRemaining()) {
                int n = channel.read(dst, from + (dst.position() - at));
                if (n < 0) {
                    throw new IOException(file.getFileName() + " page " + page + " ends inside its pixel data");
                }
            }
            at += len;
        }
        if (fileOrder == ByteOrder.BIG_ENDIAN && k > 1) {
            int n = layout.height() * layout.width();
            ByteBuffer region = out.duplicate().position(base).limit(base + n * k).slice();
            if (k == 2) {
                short[] v = new short[n];
                region.order(ByteOrder.BIG_ENDIAN).asShortBuffer().get(v);
                region.order(ByteOrder.LITTLE_ENDIAN).asShortBuffer().put(v);
            } else {
                int[] v = new int[n];
                region.order(ByteOrder.BIG_ENDIAN).asIntBuffer().get(v);
                region.order(ByteOrder.LITTLE_ENDIAN).asIntBuffer().put(v);
            }
        }
    }

    /** Tests set this to decode every page through the library, to compare it with the direct path. */
    boolean decodeAllPages;

    /** Whether {@code page} is read directly (uncompressed strips) rather than decoded by the library. */
    boolean readsDirectly(int page) {
        return plain[page] != null;
    }

    private Object readPage(int page) throws IOException {
        Raster raster;
        try {
            raster = reader.readRaster(page, null);
        } catch (IOException | RuntimeException e) {
            throw new IOException(file.getFileName() + " page " + page + " cannot be decoded: " + e.getMessage(), e);
        }
        if (raster.getWidth() != layout.width() || raster.getHeight() != layout.height() || raster.getNumBands() != 1) {
            throw new IOException(file.getFileName() + " page " + page + " decoded to " + raster.getWidth() + " x "
                    + raster.getHeight() + " x " + raster.getNumBands() + " instead of " + layout.width() + " x " + layout.height());
        }
        Object samples = raster.getDataElements(0, 0, layout.width(), layout.height(), null);
        boolean expected = switch (layout.type()) {
            case UINT8 -> samples instanceof byte[];
            case UINT16 -> samples instanceof short[];
            case FLOAT32 -> samples instanceof float[];
        };
        if (!expected) {
            throw new IOException(file.getFileName() + " page " + page + " decoded to " + samples.getClass().getSimpleName()
                    + " samples instead of " + layout.type().omeName());
        }
        return samples;
    }

    @Override
    public void close() throws IOException {
        reader.dispose();
        try {
            input.close();
        } finally {
            channel.close();
        }
    }
}
