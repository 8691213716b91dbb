using System.CommandLine;
using CallMedia.Data;
using CallMedia.Storage;
using Dapper;
using Microsoft.Extensions.Options;

namespace CallMedia.Cli;

/// <summary>
/// <c>callmedia storage encrypt | rotate-key [--new-key] | keys | retire-keys</c>: encryption at rest of the media
/// folder. Every step is one file through a temp file and a rename, so each command can be killed at any point
/// and simply run again.
/// </summary>
public static class StorageCommand
{
    private sealed class Row
    {
        public long Id { get; set; }

        public string Path { get; set; } = "";

        public long Size { get; set; }

        public long Crc32 { get; set; }
    }

    public static Command Create(CliContext cli)
    {
        var storage = CliContext.Verb("storage", "encryption at rest of the media folder and its master keys");

        var encrypt = CliContext.Verb("encrypt", "encrypt the stored media files that are still plain, in place (resumable; needs a master key)");
        cli.WithServices(encrypt, (p, services, ct) => EncryptAsync(services, cli.Console, ct));
        storage.Subcommands.Add(encrypt);

        var newKey = CliContext.Flag("--new-key", "first put a fresh random key at the top of Storage:KeyFile (the old ones stay, to read what is not re-wrapped yet)");
        var rotate = CliContext.Verb("rotate-key", "re-wrap every file's data key with the current master key; media is not re-encrypted (resumable)", newKey);
        cli.WithServices(rotate, (p, services, ct) => RotateAsync(services, p.GetValue(newKey), cli.Console, ct));
        storage.Subcommands.Add(rotate);

        var keys = CliContext.Verb("keys", "list the configured master keys by id: current, in use by files, or unused");
        cli.WithServices(keys, (p, services, ct) => KeysAsync(services, cli.Console));
        storage.Subcommands.Add(keys);

        var retire = CliContext.Verb("retire-keys", "remove from Storage:KeyFile every master key no file uses any more (after rotate-key)");
        cli.WithServices(retire, (p, services, ct) => RetireAsync(services, cli.Console));
        storage.Subcommands.Add(retire);
        storage.Subcommands.Add(StorageMigrateCommand.Create(cli));
        return storage;
    }

    private static async Task<int> EncryptAsync(IServiceProvider services, CliConsole console, CancellationToken ct)
    {
        var storage = services.GetRequiredService<LocalMediaStorage>();
        if (storage.Keys.Current is null)
        {
            throw new CliFailureException($"no master key: name a key file in Storage:KeyFile or set {StorageOptions.KeyVariable}");
        }

        var media = services.GetRequiredService<MediaRoot>();
        var db = services.GetRequiredService<Database>();
        List<Row> rows;
        await using (var connection = await db.OpenAsync(ct))
        {
            rows = (await connection.QueryAsync<Row>("SELECT id, path, size, crc32 FROM media_files ORDER BY id")).ToList();
        }

        int encrypted = 0, already = 0, linked = 0, missing = 0, refused = 0;
        foreach (var row in rows)
        {
            ct.ThrowIfCancellationRequested();
            if (Path.IsPathRooted(row.Path) && !row.Path.StartsWith(media.Root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            {
                linked++; // linked in place from an import folder: the operator's file, not ours to rewrite
                continue;
            }

            try
            {
                if (!storage.Exists(row.Path))
                {
                    missing++;
                }
                else if (await storage.EncryptInPlaceAsync(row.Path, (row.Size, (uint)row.Crc32), ct))
                {
                    encrypted++;
                }
                else
                {
                    already++;
                }
            }
            catch (InvalidDataException ex)
            {
                refused++;
                await console.Error.WriteLineAsync($"storage encrypt: media file {row.Id}: {ex.Message}");
            }
        }

        // Cached transcodes and peaks are derived: plain ones are removed and made again, encrypted, when asked for.
        var cleared = 0;
        if (Directory.Exists(media.CacheDir))
        {
            foreach (var file in Directory.EnumerateFiles(media.CacheDir, "*", SearchOption.AllDirectories))
            {
                if (storage.KeyIdOf(file) is null)
                {
                    File.Delete(file);
                    cleared++;
                }
            }
        }

        await console.Out.WriteLineAsync($"storage encrypt: {encrypted} encrypted, {already} already encrypted, {missing} missing, {linked} linked (left plain), {refused} not as recorded (left plain), {cleared} cached files removed");
        await CliApp.AuditAdminAsync(services, $"admin.storage.encrypt:{encrypted}", refused == 0 ? "ok" : "partial");
        return refused == 0 ? 0 : CliApp.Failed;
    }

    private static async Task<int> RotateAsync(IServiceProvider services, bool newKey, CliConsole console, CancellationToken ct)
    {
        var media = services.GetRequiredService<MediaRoot>();
        var options = services.GetRequiredService<IOptions<StorageOptions>>().Value;
        if (newKey)
        {
            if (string.IsNullOrWhiteSpace(options.KeyFile))
            {
                throw new CliFailureException($"--new-key writes to Storage:KeyFile; with {StorageOptions.KeyVariable}, put a new key first in the variable yourself");
            }

            var id = MasterKeys.AddNewKey(options.KeyFile, media);
            await console.Out.WriteLineAsync($"storage rotate-key: new current master key {id} in {Path.GetFullPath(options.KeyFile)}");
        }

        // The keys as they are now (a new one was just added), not as the services loaded them.
        var storage = new LocalMediaStorage(media, options, MasterKeys.Load(options, media));
        var current = storage.Keys.Current ?? throw new CliFailureException($"no master key: name a key file in Storage:KeyFile or set {StorageOptions.KeyVariable}");
        int rewrapped = 0, unchanged = 0, failed = 0;
        var stillUsed = new HashSet<string>(StringComparer.Ordinal) { current.Id };
        foreach (var file in StoredFiles(media))
        {
            ct.ThrowIfCancellationRequested();
            try
            {
                if (await storage.RewrapAsync(file, ct))
                {
                    rewrapped++;
                }
                else
                {
                    unchanged++;
                }
            }
            catch (Exception ex) when (ex is IOException or MediaKeyException)
            {
                failed++;
                if (storage.KeyIdOf(file) is { } id)
                {
                    stillUsed.Add(id);
                }

                await console.Error.WriteLineAsync($"storage rotate-key: {Path.GetRelativePath(media.Root, file)}: {ex.Message}");
            }
        }

        storage.SetKeysInUse(stillUsed);
        var retirable = storage.Keys.All.Select(k => k.Id).Where(id => !stillUsed.Contains(id)).ToList();
        await console.Out.WriteLineAsync($"storage rotate-key: {rewrapped} re-wrapped with {current.Id}, {unchanged} already current or plain, {failed} failed");
        if (retirable.Count > 0)
        {
            await console.Out.WriteLineAsync($"storage rotate-key: no file uses {string.Join(", ", retirable)} any more; 'callmedia storage retire-keys' removes them");
        }

        await CliApp.AuditAdminAsync(services, $"admin.storage.rotate-key:{current.Id}:{rewrapped}", failed == 0 ? "ok" : "partial");
        return failed == 0 ? 0 : CliApp.Failed;
    }

    private static async Task<int> KeysAsync(IServiceProvider services, CliConsole console)
    {
        var storage = services.GetRequiredService<LocalMediaStorage>();
        if (storage.Keys.All.Count == 0)
        {
            await console.Out.WriteLineAsync($"storage keys: no master key configured (name a key file in Storage:KeyFile or set {StorageOptions.KeyVariable})");
            return 0;
        }

        var inUse = LocalMediaStorage.KeysInUse(services.GetRequiredService<MediaRoot>());
        foreach (var key in storage.Keys.All)
        {
            var state = key == storage.Keys.Current ? "current" : inUse.Contains(key.Id) ? "in use" : "unused";
            await console.Out.WriteLineAsync($"{key.Id}\t{state}");
        }

        return 0;
    }

    private static async Task<int> RetireAsync(IServiceProvider services, CliConsole console)
    {
        var storage = services.GetRequiredService<LocalMediaStorage>();
        var media = services.GetRequiredService<MediaRoot>();
        var options = services.GetRequiredService<IOptions<StorageOptions>>().Value;
        if (string.IsNullOrWhiteSpace(options.KeyFile))
        {
            throw new CliFailureException($"retire-keys edits Storage:KeyFile; with {StorageOptions.KeyVariable}, drop the unused keys from the variable yourself");
        }

        var inUse = LocalMediaStorage.KeysInUse(media);
        var retire = storage.Keys.All.Where(k => k != storage.Keys.Current && !inUse.Contains(k.Id)).Select(k => k.Id).ToHashSet(StringComparer.Ordinal);
        if (retire.Count > 0)
        {
            MasterKeys.RemoveKeys(options.KeyFile, retire, media);
            await CliApp.AuditAdminAsync(services, $"admin.storage.retire-keys:{string.Join('+', retire)}");
        }

        await console.Out.WriteLineAsync(retire.Count == 0 ? "storage retire-keys: every configured key is in use" : $"storage retire-keys: removed {string.Join(", ", retire)}");
        return 0;
    }

    /// <summary>Every file of the media folder (stored media and caches), not the temp and log folders.</summary>
    private static IEnumerable<string> StoredFiles(MediaRoot media) =>
        Directory.EnumerateFiles(media.Root, "*", SearchOption.AllDirectories)
            .Where(f => !f.StartsWith(media.TempDir + Path.DirectorySeparatorChar, StringComparison.Ordinal)
                && !f.StartsWith(Path.Combine(media.Root, ".logs") + Path.DirectorySeparatorChar, StringComparison.Ordinal)
                && Path.GetDirectoryName(f) != media.Root);
}
