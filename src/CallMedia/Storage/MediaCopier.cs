using System.Buffers;
using System.IO.Hashing;

namespace CallMedia.Storage;

/// <summary>Reads a file once, computing its size and CRC-32 (vectorised) on the way, optionally writing a copy.</summary>
public static class MediaCopier
{
    private const int BufferSize = 4 << 20;

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

    /// <summary>
    /// Reads the source once, hashing each chunk; when copying, the write of one chunk overlaps the read of the
    /// next (two buffers), so reading and writing run at the same time as they do in cp.
    /// </summary>
    private static async Task<(long Size, uint Crc)> ReadAsync(string source, Stream? copy, CancellationToken ct)
    {
        var crc = new Crc32();
        long size = 0;
        await using var input = new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.Asynchronous | FileOptions.SequentialScan);

        // Pooled buffers no larger than the file: a small recording must not cost megabytes of fresh memory.
        var length = (int)Math.Clamp(input.Length, 4096, BufferSize);
        byte[][] buffers = [ArrayPool<byte>.Shared.Rent(length), ArrayPool<byte>.Shared.Rent(length)];
        try
        {
            var current = 0;
            Task pendingWrite = Task.CompletedTask;
            int read;
            while ((read = await input.ReadAsync(buffers[current].AsMemory(0, length), ct)) > 0)
            {
                crc.Append(buffers[current].AsSpan(0, read));
                size += read;
                if (copy is not null)
                {
                    await pendingWrite;
                    pendingWrite = copy.WriteAsync(buffers[current].AsMemory(0, read), ct).AsTask();
                    current ^= 1;
                }
            }

            await pendingWrite;
            return (size, crc.GetCurrentHashAsUInt32());
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffers[0]);
            ArrayPool<byte>.Shared.Return(buffers[1]);
        }
    }
}
