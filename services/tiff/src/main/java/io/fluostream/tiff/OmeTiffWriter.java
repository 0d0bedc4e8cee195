package io.fluostream.tiff;

import java.awt.Transparency;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ComponentColorModel;
import java.awt.image.DataBuffer;
import java.awt.image.DataBufferByte;
import java.awt.image.DataBufferFloat;
import java.awt.image.DataBufferUShort;
import java.awt.image.PixelInterleavedSampleModel;
import java.awt.image.Raster;
import java.awt.image.WritableRaster;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Iterator;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageTypeSpecifier;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.plugins.tiff.BaselineTIFFTagSet;
import javax.imageio.plugins.tiff.TIFFDirectory;
import javax.imageio.plugins.tiff.TIFFField;
import javax.imageio.plugins.tiff.TIFFTag;
import javax.imageio.stream.FileImageOutputStream;
import javax.imageio.stream.ImageOutputStream;

/**
 * Writes an OME-TIFF time series, one uncompressed page per plane in XYCZT order (channel fastest,
 * then time), with the OME-XML in the first page's ImageDescription. Little-endian, classic TIFF
 * (up to 4 GiB). The same planes and description give the same bytes: no dates, no random UUIDs.
 *
 * <p>Pages are written by the JDK's own TIFF plugin ({@code javax.imageio}, module java.desktop),
 * which writes float32 samples. The file appears under its name only when {@link #finish()}
 * succeeds; until then it is written beside it under a temporary name.
 */
public final class OmeTiffWriter implements Closeable {

    /** Classic TIFF offsets are 32-bit; keep a margin for the directories. */
    static final long MAX_BYTES = (1L << 32) - (64L << 20);
    /** Strips of about 256 KiB: few enough entries per page, small enough for any reader. */
    private static final int STRIP_BYTES = 256 * 1024;

    private final OmeImage image;
    private final Path target;
    private final Path temp;
    private final ImageOutputStream out;
    private final ImageWriter writer;
    private final ComponentColorModel colorModel;
    private final String description;
    private int written;
    private boolean finished;

    private OmeTiffWriter(OmeImage image, Path target) throws IOException {
        this.image = image;
        this.target = target;
        Path dir = target.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        // Beside the target (same file system, so the final move is atomic); not createTempFile,
        // whose owner-only permissions the finished file would keep.
        this.writer = jdkTiffWriter();
        this.temp = partFile(target);
        FileImageOutputStream stream;
        try {
            stream = new FileImageOutputStream(temp.toFile());
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(temp);
            throw e;
        }
        stream.setByteOrder(ByteOrder.LITTLE_ENDIAN);
        this.out = stream;
        int dataType = switch (image.type()) {
            case UINT8 -> DataBuffer.TYPE_BYTE;
            case UINT16 -> DataBuffer.TYPE_USHORT;
            case FLOAT32 -> DataBuffer.TYPE_FLOAT;
        };
        this.colorModel = new ComponentColorModel(ColorSpace.getInstance(ColorSpace.CS_GRAY), false, false,
                Transparency.OPAQUE, dataType);
        this.description = OmeXml.write(image, false);
        writer.setOutput(out);
        writer.prepareWriteSequence(null);
    }

    /**
     * Starts writing {@code image} to {@code target}.
     *
     * @throws TiffFormatException when the series would not fit in a classic TIFF (4 GiB)
     */
    public static OmeTiffWriter create(Path target, OmeImage image) throws IOException {
        long bytes = image.planeBytes() * image.sizeC() * image.sizeT();
        if (bytes > MAX_BYTES) {
            throw new TiffFormatException(String.format("%d time points x %d channels of %d x %d %s is %.2f GiB, above the "
                            + "4 GiB a classic TIFF holds; export fewer frames (--frames) into several files",
                    image.sizeT(), image.sizeC(), image.width(), image.height(), image.type().omeName(), bytes / 1073741824.0));
        }
        return new OmeTiffWriter(image, target);
    }

    /** A new, unused name beside {@code target} for writing it before it is complete. */
    public static Path partFile(Path target) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        for (int attempt = 0; ; attempt++) {
            Path p = dir.resolve("." + target.getFileName() + "." + ProcessHandle.current().pid() + "-" + System.nanoTime() + ".part");
            try {
                return Files.createFile(p);
            } catch (java.nio.file.FileAlreadyExistsException e) {
                if (attempt > 100) {
                    throw e;
                }
            }
        }
    }

    private static ImageWriter jdkTiffWriter() throws IOException {
        for (Iterator<ImageWriter> it = ImageIO.getImageWritersByFormatName("tiff"); it.hasNext();) {
            ImageWriter w = it.next();
            if ("java.desktop".equals(w.getClass().getModule().getName())) {
                return w;
            }
        }
        throw new IOException("the JDK's TIFF writer (javax.imageio, module java.desktop) is not available in this Java runtime");
    }

    /** The OME-XML written into the first page. */
    public String description() {
        return description;
    }

    /** Writes the next float32 plane: {@code height*width} samples of {@code data} from {@code offset}. */
    public void writePlane(float[] data, int offset) throws IOException {
        requireType(SampleType.FLOAT32);
        writeRaster(new DataBufferFloat(data, planeSize(data.length, offset), offset));
    }

    /** Writes the next uint16 plane (unsigned samples in Java shorts). */
    public void writePlane(short[] data, int offset) throws IOException {
        requireType(SampleType.UINT16);
        writeRaster(new DataBufferUShort(data, planeSize(data.length, offset), offset));
    }

    /** Writes the next uint8 plane. */
    public void writePlane(byte[] data, int offset) throws IOException {
        requireType(SampleType.UINT8);
        writeRaster(new DataBufferByte(data, planeSize(data.length, offset), offset));
    }

    private int planeSize(int length, int offset) {
        int n = image.height() * image.width();
        if (offset < 0 || offset + n > length) {
            throw new IllegalArgumentException("a plane needs " + n + " samples from offset " + offset + ", the array has " + length);
        }
        return n;
    }

    private void requireType(SampleType type) {
        if (type != image.type()) {
            throw new IllegalArgumentException("this file holds " + image.type().omeName() + " planes, not " + type.omeName());
        }
        if (written == image.sizeC() * image.sizeT()) {
            throw new IllegalStateException("all " + written + " planes are written already");
        }
    }

    private void writeRaster(DataBuffer buffer) throws IOException {
        int w = image.width();
        int h = image.height();
        WritableRaster raster = Raster.createWritableRaster(
                new PixelInterleavedSampleModel(buffer.getDataType(), w, h, 1, w, new int[] {0}), buffer, null);
        BufferedImage page = new BufferedImage(colorModel, raster, false, null);
        ImageWriteParam param = writer.getDefaultWriteParam();
        IIOMetadata defaults = writer.getDefaultImageMetadata(ImageTypeSpecifier.createFromRenderedImage(page), param);
        TIFFDirectory dir = TIFFDirectory.createFromMetadata(defaults);
        BaselineTIFFTagSet tags = BaselineTIFFTagSet.getInstance();
        if (written == 0) {
            dir.addTIFFField(new TIFFField(tags.getTag(BaselineTIFFTagSet.TAG_IMAGE_DESCRIPTION), TIFFTag.TIFF_ASCII, 1,
                    new String[] {description}));
        }
        long rowBytes = (long) w * image.type().bytes();
        int rows = (int) Math.max(1, Math.min(h, STRIP_BYTES / rowBytes));
        dir.addTIFFField(new TIFFField(tags.getTag(BaselineTIFFTagSet.TAG_ROWS_PER_STRIP), rows));
        double px = image.metadata().pixelSizeUm();
        if (px > 0) {
            // Pixels per centimetre, for readers that ignore OME-XML.
            long[][] perCm = {{Math.round(1e4 / px * 1000), 1000}};
            dir.addTIFFField(new TIFFField(tags.getTag(BaselineTIFFTagSet.TAG_X_RESOLUTION), TIFFTag.TIFF_RATIONAL, 1, perCm));
            dir.addTIFFField(new TIFFField(tags.getTag(BaselineTIFFTagSet.TAG_Y_RESOLUTION), TIFFTag.TIFF_RATIONAL, 1, perCm));
            dir.addTIFFField(new TIFFField(tags.getTag(BaselineTIFFTagSet.TAG_RESOLUTION_UNIT),
                    BaselineTIFFTagSet.RESOLUTION_UNIT_CENTIMETER));
        }
        writer.writeToSequence(new IIOImage(page, null, dir.getAsMetadata()), param);
        written++;
    }

    /** Ends the file and moves it to its name; throws if planes are missing. */
    public void finish() throws IOException {
        int planes = image.sizeC() * image.sizeT();
        if (written != planes) {
            throw new IllegalStateException(written + " of " + planes + " planes written; the file is incomplete");
        }
        writer.endWriteSequence();
        out.close();
        writer.dispose();
        Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        finished = true;
    }

    /** Discards an unfinished file. */
    @Override
    public void close() throws IOException {
        if (!finished) {
            try {
                out.close();
                writer.dispose();
            } finally {
                Files.deleteIfExists(temp);
            }
        }
    }
}
