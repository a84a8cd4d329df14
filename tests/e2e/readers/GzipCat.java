// Reads each gzip file named on the command line with
// java.util.zip.GZIPInputStream (what Athena, Hive and Trino use) and prints,
// per file, one line: "<sha256 of the decompressed bytes> <bytes> <path>".
// Exit status 1 with the exception on stderr if a file cannot be read.
// Compiled with javac by tests/e2e/test_gzip_readers.py into a temp dir.
import java.io.BufferedInputStream;
import java.io.FileInputStream;
import java.io.InputStream;
import java.security.MessageDigest;
import java.util.zip.GZIPInputStream;

public final class GzipCat {
  public static void main(String[] args) throws Exception {
    byte[] buf = new byte[1 << 16];
    for (String path : args) {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      long total = 0;
      try (InputStream in = new GZIPInputStream(new BufferedInputStream(new FileInputStream(path)), 1 << 16)) {
        int n;
        while ((n = in.read(buf)) > 0) {
          sha.update(buf, 0, n);
          total += n;
        }
      }
      StringBuilder hex = new StringBuilder();
      for (byte b : sha.digest()) hex.append(String.format("%02x", b));
      System.out.println(hex + " " + total + " " + path);
    }
  }
}
