namespace CallMedia.Storage;

/// <summary>Files only the service's user may read: plaintext temps, encrypted objects in the making, key files.</summary>
public static class PrivateFile
{
    /// <summary>Creates a new file readable and writable by its owner only (asynchronous, unbuffered).</summary>
    public static FileStream Create(string path, FileMode mode = FileMode.CreateNew)
    {
        var options = new FileStreamOptions { Mode = mode, Access = FileAccess.ReadWrite, Options = FileOptions.Asynchronous, BufferSize = 0 };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        return new FileStream(path, options);
    }
}
