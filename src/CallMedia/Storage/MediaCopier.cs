using System.IO.Hashing;

namespace CallMedia.Storage;

/// <summary>Reads a file once, computing its size and CRC-32 (vectorised) on the way, optionally writing a copy.</summary>
public static class MediaCopier
{
    private const int BufferSize = 1 << 20;

    /// <summary>Copies through a temp name beside the destination and renames into place; returns size and CRC-32.</summary>
    public static async Task<(long Size, uint Crc)> CopyAsync(string source, string destination, string tempPath, CancellationToken ct)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
        try
        {
            long size;
            uint crc;
            await using (var output = new FileStream(tempPath, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.Asynchronous))
            {
                (size, crc) = await ReadAsync(source, output, ct);
            }

            File.Move(tempPath, destination, overwrite: true);
            return (size, crc);
        }
        finally
        {
            File.Delete(tempPath);
        }
    }

    /// <summary>Size and CRC-32 of a file, read once.</summary>
    public static Task<(long Size, uint Crc)> HashAsync(string path, CancellationToken ct) => ReadAsync(path, null, ct);

    private static async Task<(long Size, uint Crc)> ReadAsync(string source, Stream? copy, CancellationToken ct)
    {
        var crc = new Crc32();
        long size = 0;
        var buffer = new byte[BufferSize];
        await using var input = new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.Asynchronous | FileOptions.SequentialScan);
        int read;
        while ((read = await input.ReadAsync(buffer, ct)) > 0)
        {
            crc.Append(buffer.AsSpan(0, read));
            if (copy is not null)
            {
                await copy.WriteAsync(buffer.AsMemory(0, read), ct);
            }

            size += read;
        }

        return (size, crc.GetCurrentHashAsUInt32());
    }
}
