// DynamoDB Local (DynamoDBLocal.jar) in memory, one shared database, with
// its test control on: a PutItem to table "[TEST_CONTROL]" with ACTION =
// "ROLLOVER" closes every open stream shard now (a child opens at the next
// write), ACTION = "DILATE_TIME" with HOURS = "<n>" ages every stream record
// by n hours. The jar's command line has no switch for it (1.25.1), so
// this builds the server as ServerRunner.createServer does, through the
// request handler's package-private constructor that takes the flag.
// Started by harness.DynamoDbLocal(test_control=True); compiled with javac
// against the jar at test time.
//
//   java -cp <classes>:DynamoDBLocal.jar TestControlServer <port>

import com.amazonaws.services.dynamodbv2.local.server.DynamoDBProxyServer;
import com.amazonaws.services.dynamodbv2.local.server.LocalDynamoDBRequestHandler;
import com.amazonaws.services.dynamodbv2.local.server.LocalDynamoDBServerHandler;
import java.lang.reflect.Constructor;

public final class TestControlServer {
  public static void main(String[] args) throws Exception {
    int port = Integer.parseInt(args[0]);
    // (unused, inMemory, dbPath, sharedDb, delayTransientStatuses, testControl)
    Constructor<LocalDynamoDBRequestHandler> ctor = LocalDynamoDBRequestHandler.class.getDeclaredConstructor(
        int.class, boolean.class, String.class, boolean.class, boolean.class, boolean.class);
    ctor.setAccessible(true);
    LocalDynamoDBRequestHandler handler = ctor.newInstance(0, true, null, true, false, true);
    DynamoDBProxyServer server = new DynamoDBProxyServer(port, new LocalDynamoDBServerHandler(handler, "*"));
    server.start();
    System.out.println("TestControlServer: DynamoDB Local with test control on port " + port);
    server.join();
  }
}
