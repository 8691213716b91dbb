using System.Net.Sockets;
using System.Text;
using CallMedia.Data;
using CallMedia.IntegrationTests.Infrastructure;
using Dapper;
using Microsoft.Extensions.DependencyInjection;

namespace CallMedia.IntegrationTests;

/// <summary>
/// Over a thousand malformed requests, sent as raw bytes so nothing is tidied on the way: none may answer 500
/// or show a stack trace, and none may change the database beyond audit and throttling records.
/// </summary>
public sealed class FuzzTests
{
    [Fact]
    public async Task MalformedRequests_NeverFail500_NorChangeTheDatabase()
    {
        await using var server = await TestServer.StartAsync();
        using var client = server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        var token = await CallRec.RequireTokenAsync(client, session, "id_call[]=1001");
        var before = await SnapshotAsync(server);

        var requests = Requests(session, token).ToList();
        Assert.True(requests.Count >= 1000, $"only {requests.Count} requests");
        var failures = new List<string>();
        await Parallel.ForEachAsync(requests, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (raw, ct) =>
        {
            var (status, response) = await SendRawAsync(server.BaseAddress, raw, ct);
            if (status is >= 500 or 0 || response.Contains("Exception", StringComparison.Ordinal) || response.Contains("   at ", StringComparison.Ordinal))
            {
                lock (failures)
                {
                    failures.Add($"{status} for {Encoding.Latin1.GetString(raw)[..Math.Min(raw.Length, 200)]}");
                }
            }
        });

        Assert.True(failures.Count == 0, string.Join("\n", failures.Take(10)));
        Assert.Equal(before, await SnapshotAsync(server));

        // The token that was never redeemed still works: nothing above consumed it.
        using var response = await client.SendAsync(CallRec.Send(session, token));
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
    }

    private static IEnumerable<byte[]> Requests(string session, string token)
    {
        string[] ids =
        [
            "", ",", ",,,", "-1", "0", "99999999999999999999999999", "9223372036854775807", "1e5", "0x10", "1.0", " 1", "١٢",
            "1;2", "1%002", "%FF%FE", "%ZZ", "1001,abc", string.Join(',', Enumerable.Range(1, 10_001)), new string('9', 5000), "1001&id_call[]=x",
        ];
        string[] types = ["", "0", "-1", "2", "16.0", "1 6", "%FF", "99999999999999999999", "1&type=16"];
        string[] actions = ["", "prepare", "PREPARE", "download&action=stream", "%00", new string('a', 3000), "d%C3%A9"];
        foreach (var id in ids)
        {
            foreach (var type in types)
            {
                foreach (var action in actions)
                {
                    yield return Get($"/callrec/downloadtoken;jsessionid={session}?id_call[]={id}&type={type}&action={action}");
                }
            }

            yield return Post($"/callrec/downloadtoken;jsessionid={session}", $"id_call[]={id}&type=1&type=16");
        }

        string[] sids = ["%00", "%0A%0D", new string('s', 10_000), "%FF", "a%2Fb", "../../etc", "'; DROP TABLE couples; --"];
        foreach (var sid in sids)
        {
            yield return Get($"/callrec/downloadtoken;jsessionid={session}?sid={sid}&type=16&action=prepare");
        }

        string[] tokens = ["", "x", new string('A', 20), new string('A', 21), token + "x", token.ToLowerInvariant(), "%00" + token[3..], "%FF%FE%FD", new string('t', 100_000)];
        string[] ranges =
        [
            "", "bytes=", "bytes=-", "bytes=abc", "bytes=5-1", "bytes=99999999999999999999-", "items=0-1", "bytes=-0", "bytes=0-0,-1",
            "bytes=" + string.Join(',', Enumerable.Range(0, 200).Select(i => $"{i}-{i}")), "bytes=1-2-3", "bytes=\u00ff-1",
        ];
        foreach (var t in tokens)
        {
            foreach (var range in ranges)
            {
                // The real token with a range but before redemption would redeem it; only forged tokens here.
                if (t == token)
                {
                    continue;
                }

                yield return Get($"/callrec/sendcallfile.mp3;jsessionid={session}?token={t}", range.Length > 0 ? $"Range: {range}\r\nIf-Range: \"garbage\r\n" : "");
            }

            yield return Post($"/callrec/sendcallfile.mp3;jsessionid={session}", $"token={t}&token=other");
        }

        string[] sessions =
        [
            "", "x", "../../etc/passwd", "%2F..%2F..%2F", "%3Bjsessionid=AA", "00000000000000000000000000000000", new string('F', 33), "ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ",
            session + "%00", session.ToLowerInvariant() + "/..", "\u00e9\u00e9", "A;jsessionid=B", "%FF%FE",
        ];
        string[] paths = ["/callrec/sendcallfile.mp3", "/callrec/downloadtoken", "/callrec/sendcallfile.%2e%2e", "/callrec/../callrec/downloadtoken", "/callrec/sendcallfile.mp3/..", "/callrec/logout"];
        foreach (var s in sessions)
        {
            foreach (var path in paths)
            {
                yield return Get($"{path};jsessionid={s}?token={token[..5]}AAAAAAAAAAAAAAA&id_call[]=1001");
                yield return Get($"{path}?token=AAAAAAAAAAAAAAAAAAAA", $"Cookie: JSESSIONID={s}; JSESSIONID=other\r\n");
            }
        }

        string[] names = ["", "%00", "demo%00", new string('n', 100_000), "%FF%FE", "demo&loginname=admin", "' OR 1=1 --"];
        foreach (var name in names)
        {
            yield return Get($"/callrec/loginservlet?loginname={name}&password=x");
            yield return Post("/callrec/loginservlet", $"loginname={name}&password={new string('p', 10_000)}");
        }

        yield return Post("/callrec/loginservlet", "loginname=demo&password=" + new string('x', 2 * 1024 * 1024));
        yield return Post($"/callrec/downloadtoken;jsessionid={session}", string.Join('&', Enumerable.Range(0, 30_000).Select(i => $"id_call[]={i}")));
        yield return Encoding.Latin1.GetBytes($"POST /callrec/downloadtoken;jsessionid={session} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 10\r\nConnection: close\r\n\r\nid_call[]=");
        yield return Raw($"GET /callrec/downloadtoken;jsessionid={session}?id_call[]=\u00ff\u00fe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        yield return Raw("GET /callrec/sendcallfile.mp3?token=\x01\x02 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        foreach (var method in new[] { "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "FOO" })
        {
            yield return Raw($"{method} /callrec/sendcallfile.mp3;jsessionid={session}?token={new string('B', 20)} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    }

    private static byte[] Get(string target, string headers = "") =>
        Raw($"GET {target} HTTP/1.1\r\nHost: x\r\n{headers}Connection: close\r\n\r\n");

    private static byte[] Post(string target, string body) =>
        Raw($"POST {target} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {Encoding.Latin1.GetByteCount(body)}\r\nConnection: close\r\n\r\n{body}");

    private static byte[] Raw(string text) => Encoding.Latin1.GetBytes(text);

    private static async Task<(int Status, string Response)> SendRawAsync(Uri server, byte[] request, CancellationToken ct)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(server.Host, server.Port, ct);
        var stream = tcp.GetStream();
        try
        {
            await stream.WriteAsync(request, ct);
        }
        catch (IOException)
        {
            // The server may refuse an oversized body before reading it all; its answer is still there to read.
        }

        using var buffer = new MemoryStream();
        try
        {
            await stream.CopyToAsync(buffer, ct);
        }
        catch (IOException)
        {
            // Reset after the answer: what arrived is enough.
        }

        var text = Encoding.Latin1.GetString(buffer.ToArray());
        return text.StartsWith("HTTP/1.1 ", StringComparison.Ordinal) && int.TryParse(text.AsSpan(9, 3), out var status) ? (status, text) : (0, text);
    }

    private static async Task<string> SnapshotAsync(TestServer server)
    {
        await using var connection = await server.Services.GetRequiredService<Database>().OpenAsync();
        var parts = new List<string>();
        foreach (var (table, columns) in new[]
        {
            ("users", "id, name, password_hash, scope_all, disabled"), ("user_roles", "user_id, role"), ("user_scopes", "user_id, number"),
            ("roles", "name"), ("role_rights", "role, right_name"), ("sessions", "id_hash, user_id, created_at, last_seen_at, ended_at"),
            ("tokens", "hash, redeemed_at, revoked"), ("couples", "id, sid, types"), ("media_files", "id, path, size, crc32"), ("jobs", "id, state"),
        })
        {
            var rows = await connection.QueryAsync<string>($"SELECT {columns.Replace(", ", " || '|' || ", StringComparison.Ordinal)} FROM {table} ORDER BY 1");
            parts.Add(table + ":" + string.Join(';', rows));
        }

        return string.Join('\n', parts);
    }
}
