import { askForApproval } from '../../shared/core/grants/tasks.ts'
import { taskHandler } from '../runtime/task-handler.ts'
import { waitTask } from '../runtime/task-inputs.ts'

export const { raw, handler } = taskHandler(waitTask, askForApproval)
